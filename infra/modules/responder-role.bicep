// The custom roles the responder's identity holds in every monitored subscription.
// Their actions live in ../role-actions.json and ../role-actions-scale-set-write.json, the lists
// a test compares with what the app's actions declare, so a role can neither lag behind the code
// nor grant more than it uses. The second role (scale-set write) is opt-in: scale-set write at
// subscription scope could change any scale set's model (an extension that runs code on every
// instance), broader than the two actions that need it.
targetScope = 'subscription'

@description('Name of the azd environment; part of the role name, which must be unique in the tenant.')
param environmentName string

@description('Short unique token of this deployment; keeps role names apart across subscriptions.')
param resourceToken string

@description('Subscription scopes (/subscriptions/{id}) where the role may be assigned.')
param assignableScopes array

@description('Also define the scale-set write role (enable-automatic-repairs, replace-failed-instance).')
param enableScaleSetWrite bool = false

var roleActions = loadJsonContent('../role-actions.json')
var scaleSetWriteActions = loadJsonContent('../role-actions-scale-set-write.json')
var scaleSetWriteRoleName = guid(subscription().id, environmentName, 'resource-health-responder-scale-set-write')

resource responderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // A role definition's name must be a GUID; derive it so a redeployment updates, not duplicates.
  name: guid(subscription().id, environmentName, 'resource-health-responder')
  properties: {
    roleName: 'Resource Health Responder (${environmentName}-${resourceToken})'
    description: 'Remediates virtual machines and scale sets on Azure health signals: redeploy, restart, reimage, maintenance, scale-set repairs. Managed by azd environment ${environmentName}.'
    type: 'CustomRole'
    permissions: [
      {
        actions: roleActions.actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

resource scaleSetWriteRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (enableScaleSetWrite) {
  name: scaleSetWriteRoleName
  properties: {
    roleName: 'Resource Health Responder scale-set write (${environmentName}-${resourceToken})'
    description: 'Lets the Resource Health Responder enable scale-set automatic repairs and restore a scale set\'s capacity (PATCH of the scale set). Managed by azd environment ${environmentName}.'
    type: 'CustomRole'
    permissions: [
      {
        actions: scaleSetWriteActions.actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

@description('GUID name of the role definition; the same in every subscription it may be assigned in.')
output roleDefinitionName string = responderRole.name

@description('GUID name of the scale-set write role; empty when it is not enabled.')
output scaleSetWriteRoleDefinitionName string = enableScaleSetWrite ? scaleSetWriteRoleName : ''
