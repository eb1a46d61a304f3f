// Lets the Event Grid system topics of a monitored subscription write undeliverable events
// into the dead-letter container, with their own system-assigned identities: nothing else
// in the account is theirs to touch.
param storageAccountName string
param deadLetterContainerName string

@description('Principal id of the HealthResources system topic\'s identity.')
param healthTopicPrincipalId string
@description('Principal id of the MaintenanceResources system topic\'s identity (used when enableMaintenanceEvents).')
param maintenanceTopicPrincipalId string
param enableMaintenanceEvents bool

var storageBlobDataContributor = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetterContainer 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

resource healthTopicWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::deadLetterContainer.id, healthTopicPrincipalId, storageBlobDataContributor)
  scope: storage::blobService::deadLetterContainer
  properties: {
    principalId: healthTopicPrincipalId
    roleDefinitionId: storageBlobDataContributor
    principalType: 'ServicePrincipal'
  }
}

resource maintenanceTopicWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableMaintenanceEvents) {
  name: guid(storage::blobService::deadLetterContainer.id, maintenanceTopicPrincipalId, storageBlobDataContributor)
  scope: storage::blobService::deadLetterContainer
  properties: {
    principalId: maintenanceTopicPrincipalId
    roleDefinitionId: storageBlobDataContributor
    principalType: 'ServicePrincipal'
  }
}
