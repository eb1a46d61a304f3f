// The app's storage account, reached only with Entra identities (no shared keys):
//   blob  - the Functions host's own state and the Flex Consumption deployment package;
//           the Event Grid dead-letter container
//   table - the responder's ledger (its tables are created here so the first run finds them)
param name string
param location string
param tags object
param deploymentContainerName string
param deadLetterContainerName string
@description('Names of the ledger\'s tables (ledger/table_keys.py names them: prefix + role).')
param ledgerTableNames array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  // Geo-redundant: the ledger (what was done, what is in flight) outlives a regional outage.
  sku: {
    name: 'Standard_GRS'
  }
  properties: {
    // checkov:skip=CKV_AZURE_35:Flex Consumption without virtual network integration reaches storage over public endpoints; access needs an Entra token (shared keys are off)
    // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: public endpoint, identity-only access
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource ledgerTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in ledgerTableNames: {
  parent: tableService
  name: tableName
}]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
