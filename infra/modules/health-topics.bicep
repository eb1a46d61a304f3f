// The Event Grid system topics that publish a subscription's health events. Each has a
// system-assigned identity, used only to write undeliverable events to the dead-letter
// container in the app's storage account.
param tags object
param healthTopicName string
param maintenanceTopicName string
param enableMaintenanceEvents bool

// Azure allows one HealthResources system topic per subscription: if one already exists,
// pass its name (healthTopicName) and it is adopted rather than duplicated.
resource healthTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: healthTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.ResourceNotifications.HealthResources'
  }
}

// Scheduled events (Freeze, Reboot, Redeploy, ...) are a preview topic type, so opt-in.
resource maintenanceTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (enableMaintenanceEvents) {
  name: maintenanceTopicName
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.ResourceNotifications.MaintenanceResources'
  }
}

output healthTopicPrincipalId string = healthTopic.identity.principalId
output maintenanceTopicPrincipalId string = enableMaintenanceEvents ? maintenanceTopic.identity.principalId : ''
