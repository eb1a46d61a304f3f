// Data-plane roles for the app's identity (and, optionally, for the person deploying, to look
// at the ledger and dead-lettered events while debugging). Assignment names are
// guid(scope, principal, role): stable across redeployments, so a rerun changes nothing.
param storageAccountName string
param keyVaultName string
param applicationInsightsName string

@description('Principal id of the app\'s user-assigned managed identity.')
param identityPrincipalId string

@description('Principal id of a person to grant read access for debugging; empty for none.')
param userPrincipalId string = ''

@description('User, or ServicePrincipal when azd runs as one (CI); azd exports it as AZURE_PRINCIPAL_TYPE.')
param userPrincipalType string = 'User'

// Built-in role definition ids (the same in every tenant).
var roles = {
  // The Functions host keeps its state (timer schedules, keys, leases) and the Flex
  // Consumption package in blobs; Owner is what the host documents for AzureWebJobsStorage.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
  // The ledger, and the host's diagnostic events.
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Entra-authenticated telemetry ingestion (Application Insights local auth is off).
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageTableDataContributor
]

resource appStorageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: {
  name: guid(storage.id, identityPrincipalId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role))
  scope: storage
  properties: {
    principalId: identityPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalType: 'ServicePrincipal'
  }
}]

resource appSecretsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser))
  scope: vault
  properties: {
    principalId: identityPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalType: 'ServicePrincipal'
  }
}

resource appTelemetryAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher))
  scope: applicationInsights
  properties: {
    principalId: identityPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalType: 'ServicePrincipal'
  }
}

var userStorageRoles = empty(userPrincipalId) ? [] : [
  roles.storageBlobDataReader
  roles.storageTableDataReader
]

resource userStorageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in userStorageRoles: {
  name: guid(storage.id, userPrincipalId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role))
  scope: storage
  properties: {
    principalId: userPrincipalId
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalType: userPrincipalType
  }
}]
