// Resource Health Responder: everything `azd up` deploys.
//
//   app resource group     function app (Flex Consumption) + plan, user-assigned identity,
//                          storage (host state, package, dead letters, ledger tables),
//                          Key Vault (Teams webhooks, approval secret), App Insights + Log Analytics
//   deployment subscription  the custom "Resource Health Responder" role definition
//   each monitored subscription  the role assigned to the identity; a resource group with the
//                          Event Grid system topics, event subscriptions, action group and
//                          Activity Log alerts that feed the app
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; with the subscription and location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of the app\'s resources; must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Name of the app\'s resource group; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Comma-separated ids of the subscriptions to watch and remediate; empty for this deployment\'s subscription.')
param monitoredSubscriptions string = ''

@description('Resource group created in each monitored subscription for the signal plumbing; empty for rg-<environmentName>-health-signals.')
param signalsResourceGroupName string = ''

@description('Name of the HealthResources system topic in each monitored subscription. Azure allows one per subscription: give the existing one\'s name to adopt it (it must live in the signals resource group).')
param healthTopicName string = ''

@description('Also subscribe to scheduled events (MaintenanceResources system topic; preview).')
param enableMaintenanceEvents bool = false

@description('Create the event subscriptions and alerts that call the functions. They need the code deployed first, so azd\'s postdeploy hook turns this on and provisions again.')
param connectSignals bool = false

@allowed([
  ''
  'observe'
  'approve'
  'auto'
])
@description('RESPONDER_MODE: overrides every policy rule\'s mode and is the ceiling no responder-mode tag lifts a rule above; empty (the default) leaves each rule\'s own mode, and the shipped rules all observe.')
param responderMode string = ''

@description('RESPONDER_POLICY_PATH: policy file inside the deployed package.')
param policyPath string = 'rules/policy.yaml'

@description('RESPONDER_RESOURCE_GROUPS_INCLUDE: comma-separated resource groups in scope; empty for all.')
param resourceGroupsInclude string = ''

@description('RESPONDER_RESOURCE_GROUPS_EXCLUDE: comma-separated resource groups never touched.')
param resourceGroupsExclude string = ''

@description('RESPONDER_PAUSED: stop every remediation (signals are still recorded and notified).')
param paused bool = false

@description('RESPONDER_MAIL_SENDER: mailbox (UPN or object id) that sends email; empty for no email.')
param mailSender string = ''

@description('RESPONDER_MAIL_TO: comma-separated default email recipients.')
param mailTo string = ''

@description('RESPONDER_PUBLIC_URL: base URL of approval links; empty for the function app\'s own https address.')
param publicUrl string = ''

@description('RESPONDER_TICK_SCHEDULE (NCRONTAB): polls operations, advances waves, expires approvals.')
param tickSchedule string = '0 */1 * * * *'

@description('RESPONDER_SWEEP_SCHEDULE (NCRONTAB): sweeps the scope for what no event reported.')
param sweepSchedule string = '0 */15 * * * *'

@description('RESPONDER_PURGE_SCHEDULE (NCRONTAB): forgets what is past the audit trail\'s retention, daily.')
param purgeSchedule string = '0 30 3 * * *'

@description('RESPONDER_RETENTION_DAYS: how long the ledger keeps the audit trail (7 to 3650 days).')
@minValue(7)
@maxValue(3650)
param retentionDays int = 90

// An object, not a string: azd substitutes the environment value into the parameters file without
// escaping, so JSON given to a string parameter breaks parameter loading; azd parses JSON for
// object parameters (since 1.23.4, pinned in azure.yaml).
@secure()
@description('RESPONDER_TEAMS_WEBHOOKS: Teams route name -> Workflows webhook URL; {} for none. Stored in Key Vault.')
param teamsWebhooks object = {}

@secure()
@minLength(32)
@description('RESPONDER_APPROVAL_SECRET: key that signs approval links. Stored in Key Vault.')
param approvalSecret string

@description('RESPONDER_APPROVERS: who may decide approvals, comma-separated group:<Entra group object id> and role:<app role value>. Required, with signInClientId, for approve mode in Azure.')
param approvers string = ''

@description('Client id of the Entra app registration people sign in with on the approval pages (App Service authentication); empty: no sign-in, and approve mode refuses to start in Azure.')
param signInClientId string = ''

@description('Entra tenant of signInClientId; the deployment\'s own by default.')
param signInTenantId string = tenant().tenantId

@minValue(40)
@maxValue(1000)
@description('Most instances the app may scale out to.')
param maximumInstanceCount int = 40

@description('Object id of a person to grant read access to the ledger and dead letters (azd sets the signed-in user); empty for none.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal principalId is; azd sets AZURE_PRINCIPAL_TYPE (ServicePrincipal when it runs as one, in CI).')
param principalType string = 'User'

@description('Grant the identity the Microsoft Graph application permissions Mail.Send and Mail.ReadBasic (when a mail sender is set). Turn off where the deployer cannot grant app roles; an administrator then grants them.')
param enableGraphPermissions bool = true

@description('Also define and assign the scale-set write role, for enable-automatic-repairs and replace-failed-instance; without it those two actions are skipped.')
param enableScaleSetWrite bool = false

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'responder'

var functionAppName = 'func-rhr-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'
// The ledger's tables: prefix `responder` (RESPONDER_TABLE_PREFIX unset) + one name per record
// kind; tests/infra checks this list against the ledger's own.
var ledgerTableNames = [
  'responderDeliveries'
  'responderOpenIncidents'
  'responderIncidents'
  'responderSignals'
  'responderDecisions'
  'responderRejections'
  'responderOperations'
  'responderUnhealthyMarks'
  'responderStorms'
  'responderSwitches'
  'responderSlots'
  'responderApprovals'
  'responderWaves'
  'responderOutboxMessages'
  'responderOutboxUnsent'
  'responderOutboxSends'
  'responderSweepCursors'
  'responderIncidentLog'
]

var subscriptionIds = empty(trim(monitoredSubscriptions)) ? [
  subscription().subscriptionId
] : split(replace(monitoredSubscriptions, ' ', ''), ',')
var monitoredScopes = [for id in subscriptionIds: '/subscriptions/${id}']
var signalsGroupName = empty(signalsResourceGroupName) ? 'rg-${environmentName}-health-signals' : signalsResourceGroupName
var healthTopic = empty(healthTopicName) ? 'health-resources-${resourceToken}' : healthTopicName
var maintenanceTopic = 'maintenance-resources-${resourceToken}'
var actionGroupName = 'ag-rhr-${resourceToken}'

resource appGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: appGroup
  params: {
    name: 'id-rhr-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: appGroup
  params: {
    logAnalyticsName: 'log-rhr-${resourceToken}'
    applicationInsightsName: 'appi-rhr-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: appGroup
  params: {
    name: 'strhr${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    ledgerTableNames: ledgerTableNames
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: appGroup
  params: {
    name: 'kv-rhr-${resourceToken}'
    location: location
    tags: tags
    teamsWebhooks: string(teamsWebhooks)
    approvalSecret: approvalSecret
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: appGroup
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module graphPermissions 'app/graph-permissions.bicep' = if (enableGraphPermissions && !empty(mailSender)) {
  name: 'graph-permissions'
  scope: appGroup
  params: {
    identityPrincipalId: identity.outputs.principalId
  }
}

// Every app setting the responder reads, in one place. Secrets are Key Vault references,
// resolved by the platform with the user-assigned identity.
var responderSettings = union({
  RESPONDER_POLICY_PATH: policyPath
  RESPONDER_SUBSCRIPTIONS: join(subscriptionIds, ',')
  RESPONDER_RESOURCE_GROUPS_INCLUDE: resourceGroupsInclude
  RESPONDER_RESOURCE_GROUPS_EXCLUDE: resourceGroupsExclude
  RESPONDER_PAUSED: paused ? 'true' : 'false'
  RESPONDER_LEDGER: 'table'
  RESPONDER_TABLE_ENDPOINT: 'https://${storage.outputs.name}.table.${environment().suffixes.storage}'
  RESPONDER_AZURE: 'live'
  RESPONDER_TEAMS_WEBHOOKS: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.teamsWebhooksSecretUri})'
  RESPONDER_APPROVAL_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.approvalSecretUri})'
  RESPONDER_MAIL_SENDER: mailSender
  RESPONDER_SCALE_SET_WRITE: enableScaleSetWrite ? 'true' : 'false'
  RESPONDER_MAIL_TO: mailTo
  RESPONDER_TICK_SCHEDULE: tickSchedule
  RESPONDER_SWEEP_SCHEDULE: sweepSchedule
  RESPONDER_PURGE_SCHEDULE: purgeSchedule
  RESPONDER_RETENTION_DAYS: string(retentionDays)
  RESPONDER_APPROVERS: approvers
  // The app trusts the X-MS-CLIENT-PRINCIPAL headers only when this says sign-in is on.
  RESPONDER_APPROVER_SIGN_IN: empty(signInClientId) ? 'false' : 'true'
}, empty(responderMode) ? {} : {
  RESPONDER_MODE: responderMode
}, empty(publicUrl) ? {} : {
  RESPONDER_PUBLIC_URL: publicUrl
})

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: appGroup
  params: {
    name: functionAppName
    planName: 'plan-rhr-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    responderSettings: responderSettings
    signInClientId: signInClientId
    signInTenantId: signInTenantId
  }
  // The host starts as soon as the app exists: its storage and secrets must be readable by then.
  dependsOn: [
    rbac
  ]
}

module responderRole 'modules/responder-role.bicep' = {
  name: 'responder-role-${resourceToken}'
  params: {
    environmentName: environmentName
    resourceToken: resourceToken
    // The deployment subscription is listed too: a custom role is created in one of its
    // assignable scopes, and the monitored list may not include it.
    assignableScopes: union([
      subscription().id
    ], monitoredScopes)
    enableScaleSetWrite: enableScaleSetWrite
  }
}

module monitored 'modules/monitored-subscription.bicep' = [for subscriptionId in subscriptionIds: {
  name: 'responder-monitored-${subscriptionId}'
  scope: subscription(subscriptionId)
  params: {
    location: location
    tags: tags
    resourceGroupName: signalsGroupName
    principalId: identity.outputs.principalId
    roleDefinitionName: responderRole.outputs.roleDefinitionName
    scaleSetWriteRoleDefinitionName: responderRole.outputs.scaleSetWriteRoleDefinitionName
    healthTopicName: healthTopic
    maintenanceTopicName: maintenanceTopic
    enableMaintenanceEvents: enableMaintenanceEvents
  }
}]

module deadLetterWriters 'app/deadletter-access.bicep' = [for (subscriptionId, i) in subscriptionIds: {
  name: 'responder-deadletter-${subscriptionId}'
  scope: appGroup
  params: {
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
    healthTopicPrincipalId: monitored[i].outputs.healthTopicPrincipalId
    maintenanceTopicPrincipalId: monitored[i].outputs.maintenanceTopicPrincipalId
    enableMaintenanceEvents: enableMaintenanceEvents
  }
}]

module signals 'modules/health-signals.bicep' = [for subscriptionId in subscriptionIds: if (connectSignals) {
  name: 'responder-signals-${subscriptionId}'
  scope: resourceGroup(subscriptionId, signalsGroupName)
  params: {
    tags: tags
    healthTopicName: healthTopic
    maintenanceTopicName: maintenanceTopic
    enableMaintenanceEvents: enableMaintenanceEvents
    functionAppId: functionApp.outputs.id
    functionAppHostName: functionApp.outputs.hostName
    functionAppName: functionApp.outputs.name
    appSubscriptionId: subscription().subscriptionId
    appResourceGroupName: appGroup.name
    deadLetterStorageAccountId: storage.outputs.id
    deadLetterContainerName: deadLetterContainerName
    actionGroupName: actionGroupName
  }
  // The topics' identities must be able to write dead letters before deliveries start.
  dependsOn: [
    monitored
    deadLetterWriters
  ]
}]

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = appGroup.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_RESPONDER_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output RESPONDER_CLIENT_ID string = identity.outputs.clientId
output RESPONDER_FUNCTION_URL string = 'https://${functionApp.outputs.hostName}'
output RESPONDER_MONITORED_SUBSCRIPTIONS string = join(subscriptionIds, ',')
output RESPONDER_ROLE_DEFINITION_NAME string = responderRole.outputs.roleDefinitionName
// What `python -m responder doctor` reads to find the deployment (azd keeps outputs in its environment).
output RESPONDER_PRINCIPAL_ID string = identity.outputs.principalId
output RESPONDER_SIGNALS_RESOURCE_GROUP_NAME string = signalsGroupName
output RESPONDER_HEALTH_TOPIC_NAME string = healthTopic
output RESPONDER_MAINTENANCE_TOPIC_NAME string = enableMaintenanceEvents ? maintenanceTopic : ''
output RESPONDER_ACTION_GROUP_NAME string = actionGroupName
