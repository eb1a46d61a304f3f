// Everything the responder needs inside one monitored subscription, deployed at that
// subscription's scope: the custom role assigned to the app's identity, a resource group for
// the signal plumbing, and the Event Grid system topics (the event subscriptions and alerts
// come later, in health-signals.bicep, once the function code exists to receive them).
targetScope = 'subscription'

param location string
param tags object

@description('Resource group, created in this subscription, that holds the system topics, action group and alerts.')
param resourceGroupName string

@description('Principal (object) id of the responder\'s user-assigned managed identity.')
param principalId string

@description('GUID name of the responder custom role (modules/responder-role.bicep).')
param roleDefinitionName string

@description('GUID name of the opt-in scale-set write role; empty for none.')
param scaleSetWriteRoleDefinitionName string = ''

param healthTopicName string
param maintenanceTopicName string

@description('Also create the MaintenanceResources system topic (scheduled events; preview).')
param enableMaintenanceEvents bool

resource signalsGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)

resource responderAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionId)
  properties: {
    principalId: principalId
    roleDefinitionId: roleDefinitionId
    // Set explicitly: a freshly created identity may not have replicated yet.
    principalType: 'ServicePrincipal'
    description: 'Resource Health Responder: remediate VMs and scale sets in this subscription.'
  }
}

// A well-formed id even when the role is off (the assignment below is then skipped, but its name is still computed).
var scaleSetWriteRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', empty(scaleSetWriteRoleDefinitionName) ? guid('none') : scaleSetWriteRoleDefinitionName)

resource scaleSetWriteAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(scaleSetWriteRoleDefinitionName)) {
  name: guid(subscription().id, principalId, scaleSetWriteRoleId)
  properties: {
    principalId: principalId
    roleDefinitionId: scaleSetWriteRoleId
    principalType: 'ServicePrincipal'
    description: 'Resource Health Responder: enable scale-set automatic repairs and restore capacity (scale-set write).'
  }
}

module topics 'health-topics.bicep' = {
  name: 'responder-health-topics'
  scope: signalsGroup
  params: {
    tags: tags
    healthTopicName: healthTopicName
    maintenanceTopicName: maintenanceTopicName
    enableMaintenanceEvents: enableMaintenanceEvents
  }
}

output resourceGroupName string = signalsGroup.name
output healthTopicPrincipalId string = topics.outputs.healthTopicPrincipalId
output maintenanceTopicPrincipalId string = topics.outputs.maintenanceTopicPrincipalId
