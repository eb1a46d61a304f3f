// Wires one monitored subscription's health signals to the function app:
//   Event Grid: HealthResources (and MaintenanceResources) events -> function `event_grid`
//   Activity Log: Service Health, Resource Health and scale-set repair-state alerts
//     -> action group -> function `alerts` (HTTP, common alert schema)
// Deployed after the code, because Event Grid checks that the target function exists.
param tags object

param healthTopicName string
param maintenanceTopicName string
param enableMaintenanceEvents bool

@description('Resource id of the function app (Microsoft.Web/sites).')
param functionAppId string

@description('Default host name of the function app, e.g. func-xyz.azurewebsites.net.')
param functionAppHostName string

@description('Name of the function app; with its subscription and resource group, where the `alerts` function\'s key is read.')
param functionAppName string
param appSubscriptionId string
param appResourceGroupName string

@description('Resource id of the storage account that keeps undeliverable events.')
param deadLetterStorageAccountId string
param deadLetterContainerName string

param actionGroupName string

// Function names as registered by the app (handlers/): keep in step with the code.
var eventGridFunctionName = 'event_grid'
var alertsFunctionName = 'alerts'
var alertsRoute = 'alerts'

// Event Grid retries for up to a day, then dead-letters: a missed annotation is still there
// to read, and the periodic sweep catches up on what was lost.
var retryPolicy = {
  maxDeliveryAttempts: 30
  eventTimeToLiveInMinutes: 1440
}

var functionDestination = {
  endpointType: 'AzureFunction'
  properties: {
    resourceId: '${functionAppId}/functions/${eventGridFunctionName}'
    maxEventsPerBatch: 1
    preferredBatchSizeInKilobytes: 64
  }
}

var deadLetter = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: deadLetterStorageAccountId
      blobContainerName: deadLetterContainerName
    }
  }
}

resource healthTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: healthTopicName
}

resource healthEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: healthTopic
  name: 'resource-health-responder'
  properties: {
    destination: functionDestination
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated'
        'Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged'
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}

resource maintenanceTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (enableMaintenanceEvents) {
  name: maintenanceTopicName
}

resource maintenanceEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (enableMaintenanceEvents) {
  parent: maintenanceTopic
  name: 'resource-health-responder'
  properties: {
    destination: functionDestination
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted'
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}

// The `alerts` route takes a function key (authLevel FUNCTION), and an Azure Function receiver
// has no other credential: Azure stores the trigger URL with the key (`?code=`). The key is the
// `alerts` function's own (listKeys on that function, not the host key), so it opens that one
// route and nothing else; rotating it means a new key and `azd provision` (README, Deployment).
resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
  name: functionAppName

  resource alertsFunction 'functions' existing = {
    name: alertsFunctionName
  }
}

resource responderActions 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'rh-responder'
    enabled: true
    azureFunctionReceivers: [
      {
        name: 'resource-health-responder'
        functionAppResourceId: functionAppId
        functionName: alertsFunctionName
        httpTriggerUrl: 'https://${functionAppHostName}/api/${alertsRoute}?code=${functionApp::alertsFunction.listKeys().default}'
        useCommonAlertSchema: true
      }
    ]
  }
}

var alertActions = {
  actionGroups: [
    {
      actionGroupId: responderActions.id
    }
  ]
}

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: 'responder-service-health'
  location: 'Global'
  tags: tags
  properties: {
    description: 'Service Health notices (maintenance, incidents, action required, security) for the responder.'
    enabled: true
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ServiceHealth'
        }
        {
          anyOf: [
            {
              field: 'properties.incidentType'
              equals: 'Maintenance'
            }
            {
              field: 'properties.incidentType'
              equals: 'Incident'
            }
            {
              field: 'properties.incidentType'
              equals: 'ActionRequired'
            }
            {
              field: 'properties.incidentType'
              equals: 'Security'
            }
          ]
        }
      ]
    }
    actions: alertActions
  }
}

resource resourceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: 'responder-resource-health'
  location: 'Global'
  tags: tags
  properties: {
    description: 'Resource Health changes of virtual machines and scale sets, for the responder.'
    enabled: true
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ResourceHealth'
        }
        {
          anyOf: [
            {
              field: 'resourceType'
              equals: 'Microsoft.Compute/virtualMachines'
            }
            {
              field: 'resourceType'
              equals: 'Microsoft.Compute/virtualMachineScaleSets'
            }
          ]
        }
      ]
    }
    actions: alertActions
  }
}

// A scale set's automatic repairs turning Suspended is written to the Activity Log as this
// Administrative operation; there is no health event for it. Only the Succeeded record: the
// same operation is also logged Accepted and Started (Azure's own alert for it filters on
// Succeeded), and the app's own Resume calls would otherwise come back three times each.
resource repairStateAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: 'responder-scale-set-repair-state'
  location: 'Global'
  tags: tags
  properties: {
    description: 'Scale-set orchestration service (automatic repairs) state changes, for the responder.'
    enabled: true
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'Administrative'
        }
        {
          field: 'operationName'
          equals: 'Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action'
        }
        {
          field: 'resourceType'
          equals: 'Microsoft.Compute/virtualMachineScaleSets'
        }
        {
          field: 'status'
          equals: 'Succeeded'
        }
      ]
    }
    actions: alertActions
  }
}

output actionGroupId string = responderActions.id
