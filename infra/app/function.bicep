// The function app on a Flex Consumption (FC1) plan: Linux, Python 3.11, 2048 MB instances,
// running as the user-assigned identity. Its package is deployed by azd into a blob container
// that the same identity reads; every storage and Key Vault access is identity-based.
param name string
param planName string
param location string
param tags object

@description('azd service name from azure.yaml; azd finds the app to deploy by this tag.')
param serviceName string

param identityId string
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string

param applicationInsightsConnectionString string

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('The responder\'s own settings (RESPONDER_*), merged over the platform settings.')
param responderSettings object

@description('Client id of the Entra app registration for sign-in on the approval pages; empty: no App Service authentication.')
param signInClientId string = ''

@description('Entra tenant that issues the sign-in tokens.')
param signInTenantId string = tenant().tenantId

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy is offered in some regions only; the responder is stateless and recovers from the ledger
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17:Client certificates are not sent by Event Grid or action groups
    // checkov:skip=CKV_AZURE_78:Flex Consumption has no FTP endpoint, and basic publishing credentials are turned off below
    // checkov:skip=CKV_AZURE_222:Event Grid and action groups call the functions over the public endpoint; each function needs its key
    // checkov:skip=CKV_AZURE_212:Flex Consumption scales out on demand; missed events are retried by Event Grid and caught up by the sweep
    // checkov:skip=CKV_AZURE_213:App Service health check does not apply to Flex Consumption, which scales per function
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with the user-assigned identity, not a system one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: 2048
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Identity-based host storage: no connection string, no key.
var platformSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential picks the user-assigned identity by this.
  AZURE_CLIENT_ID: identityClientId
}

// checkov reads this `config` resource as if it were the site's web configuration; the web
// checks below do not apply to a list of app settings.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:App settings, not web config; App Service Authentication is the authsettingsV2 resource below (on when signInClientId is set)
  // checkov:skip=CKV_AZURE_63:Flex Consumption has no App Service HTTP logs; requests go to Application Insights
  // checkov:skip=CKV_AZURE_65:Flex Consumption has no App Service detailed error pages; errors go to Application Insights
  parent: app
  // checkov:skip=CKV_AZURE_66:Flex Consumption has no failed request tracing; requests go to Application Insights
  // checkov:skip=CKV_AZURE_80:Python app; no .NET Framework
  // checkov:skip=CKV_AZURE_88:Flex Consumption runs from a blob package, with no Azure Files content share
  name: 'appsettings'
  // checkov:skip=CKV_AZURE_222:App settings, not web config; see CKV_AZURE_222 on the site
  // The responder's public URL defaults to the app's real host name, known only once the
  // app exists (Flex Consumption names hosts with a random suffix).
  properties: union(platformSettings, {
    RESPONDER_PUBLIC_URL: 'https://${app.properties.defaultHostName}'
  }, responderSettings)
}

// App Service authentication (Entra ID) for the approval pages. It is on for the whole app but
// requires nobody (AllowAnonymous): Event Grid and action groups cannot sign in, and keep their
// function keys. The platform validates the session, passes the signed-in person to the app in
// the X-MS-CLIENT-PRINCIPAL headers and removes those headers from what callers send; the
// approvals route requires a signed-in approver itself (GET is sent to /.auth/login/aad, POST
// without one is 401), so sign-in is required exactly on /api/approvals/*. docs/approvals.md
// says why this rather than requireAuthentication with excludedPaths.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(signInClientId)) {
  // checkov:skip=CKV_AZURE_13:checkov reads the v1 authsettings shape; this authsettingsV2 resource turns App Service Authentication on with platform.enabled
  // checkov reads this `config` resource as web configuration too; those checks concern the site:
  // checkov:skip=CKV_AZURE_63:Authentication settings, not web config; Flex Consumption has no App Service HTTP logs
  // checkov:skip=CKV_AZURE_65:Authentication settings, not web config; Flex Consumption has no detailed error pages
  // checkov:skip=CKV_AZURE_66:Authentication settings, not web config; Flex Consumption has no failed request tracing
  // checkov:skip=CKV_AZURE_80:Authentication settings, not web config; a Python app has no .NET Framework
  // checkov:skip=CKV_AZURE_88:Authentication settings, not web config; Flex Consumption runs from a blob package
  // checkov:skip=CKV_AZURE_222:Authentication settings, not web config; see CKV_AZURE_222 on the site
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: signInClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${signInTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            signInClientId
            'api://${signInClientId}'
          ]
        }
      }
    }
    login: {
      // No token store: the app needs the claims of the request, not the person's tokens later.
      tokenStore: {
        enabled: false
      }
    }
  }
}

// Deployment goes through azd with Entra auth; publishing with basic credentials stays off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = app.id
output name string = app.name
output hostName string = app.properties.defaultHostName
