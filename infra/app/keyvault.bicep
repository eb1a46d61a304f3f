// Key Vault for the app's two secrets, read by the function app through Key Vault references
// with its user-assigned identity. RBAC authorization only (no access policies); purge
// protection so a deleted secret cannot be destroyed before its retention ends.
param name string
param location string
param tags object

@secure()
@description('JSON object: Teams route name -> Workflows webhook URL.')
param teamsWebhooks string

@secure()
@description('Key that signs approval links.')
param approvalSecret string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109:Flex Consumption without virtual network integration resolves Key Vault references over the public endpoint; access is Entra RBAC only
    // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Both secrets are rewritten from the azd environment at every provision, so that is where
// they are changed (azd env set ...); a value set in the vault by hand would be overwritten.
resource teamsWebhooksSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'teams-webhooks'
  properties: {
    // checkov:skip=CKV_AZURE_41:Webhook URLs are rotated by their owners in Teams, not on a schedule; an expiry would silently stop notifications
    value: teamsWebhooks
    contentType: 'application/json'
  }
}

resource approvalSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'approval-secret'
  properties: {
    // checkov:skip=CKV_AZURE_41:Rotated by setting a new value in the azd environment; an expiry would break pending approval links without warning
    value: approvalSecret
    contentType: 'text/plain'
  }
}

output name string = vault.name
output id string = vault.id
// Version-less URIs: the app picks up a new secret version without a redeployment.
output teamsWebhooksSecretUri string = teamsWebhooksSecret.properties.secretUri
output approvalSecretUri string = approvalSecretSecret.properties.secretUri
