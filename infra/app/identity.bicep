// The app's one identity: it reads storage and Key Vault, sends telemetry, and holds the
// responder role in each monitored subscription. User-assigned, so its role assignments can be
// made before the function app exists and survive the app being re-created.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
