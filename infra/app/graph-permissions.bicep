// Microsoft Graph application permissions for the app's identity, so email works from the first
// deployment: Mail.Send (Graph sendMail from the sender mailbox) and Mail.ReadBasic (the check of
// the sender's Sent Items before a resend). Granting app roles needs a deployer who may do so
// (Privileged Role Administrator, or Application Administrator plus admin consent rights); where
// the deployer cannot, set RESPONDER_GRAPH_PERMISSIONS=false and have an administrator grant them
// (`python -m responder doctor` says which are missing).
//
// An application permission reaches every mailbox in the tenant: restrict it to the sender with
// Exchange RBAC for Applications (README, Deployment). Graph resources are not Azure resources;
// the extension deploys them with the deployer's Entra rights.
extension 'br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0'

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param identityPrincipalId string

// The Microsoft Graph service principal has the same application id in every tenant.
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'

// Application permissions by name; their ids come from Graph's own app roles, not a copy.
var mailPermissions = [
  'Mail.Send'
  'Mail.ReadBasic'
]

resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: microsoftGraphAppId
}

resource mailGrants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [for permission in mailPermissions: {
  principalId: identityPrincipalId
  resourceId: microsoftGraph.id
  appRoleId: filter(microsoftGraph.appRoles, role => role.value == permission)[0].id
}]

output grantedPermissions array = mailPermissions
