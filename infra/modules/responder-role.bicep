// The custom role the responder's identity holds in every monitored subscription.
// Its actions live in ../role-actions.json, the one list that a test compares with what the
// app's actions declare, so the role can neither lag behind the code nor grant more than it uses.
targetScope = 'subscription'

@description('Name of the azd environment; part of the role name, which must be unique in the tenant.')
param environmentName string

@description('Short unique token of this deployment; keeps role names apart across subscriptions.')
param resourceToken string

@description('Subscription scopes (/subscriptions/{id}) where the role may be assigned.')
param assignableScopes array

var roleActions = loadJsonContent('../role-actions.json')

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

@description('GUID name of the role definition; the same in every subscription it may be assigned in.')
output roleDefinitionName string = responderRole.name
