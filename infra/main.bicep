// OrleansMqtt on Azure Container Apps: `azd up` provisions this, then builds and deploys the Silo and Gateway images.
// Everything lives in one resource group, rg-<environmentName>. docs/deploy.md explains each parameter.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource.')
param location string

@minValue(1)
@maxValue(20)
@description('Number of silos; each is its own Container App with exactly one replica.')
param siloCount int = 3

@minValue(1)
@maxValue(300)
@description('Fewest gateway replicas; at least one, since MQTT clients keep connections open.')
param gatewayMinReplicas int = 1

@minValue(1)
@maxValue(300)
@description('Most gateway replicas.')
param gatewayMaxReplicas int = 5

@minValue(10)
@maxValue(95)
@description('Average gateway CPU use, in percent, above which another gateway replica is added.')
param gatewayScaleCpuPercent int = 70

@description('vCPUs per silo (Consumption profile: 0.25 to 4, in steps of 0.25, with memory at 2 GiB per vCPU).')
param siloCpu string = '1.0'

@description('Memory per silo, e.g. 2Gi (must match siloCpu: 2 GiB per vCPU).')
param siloMemory string = '2Gi'

@description('vCPUs per gateway replica.')
param gatewayCpu string = '0.5'

@description('Memory per gateway replica (2 GiB per vCPU).')
param gatewayMemory string = '1Gi'

@minValue(1)
@maxValue(65535)
@description('Public port for MQTT over TCP. Unique in the environment; never 80 or 443.')
param mqttPort int = 1883

@description('Expose MQTT over TLS too. The TLS listener arrives with the TLS work; until then leave this off.')
param exposeMqttTls bool = false

@minValue(1)
@maxValue(65535)
@description('Public port for MQTT over TLS. Unique in the environment; never 80 or 443.')
param mqttTlsPort int = 8883

@description('Orleans service id: keep it across deployments, or stored grain state is not found again.')
param serviceId string = 'orleans-mqtt'

@description('Silo image; azd sets it after the first deploy (empty: a placeholder runs until then).')
param siloImage string = ''

@description('Gateway image; azd sets it after the first deploy (empty: a placeholder runs until then).')
param gatewayImage string = ''

@description('Address space of the virtual network.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Subnet of the Container Apps environment (at least /27; /23 leaves room to scale).')
param infrastructureSubnetPrefix string = '10.40.0.0/23'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Names known before deployment, so that modules can refer to each other's resources by name (precise What-If).
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
var logAnalyticsName = '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
var appInsightsName = '${abbrs.insightsComponents}${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    infrastructureSubnetPrefix: infrastructureSubnetPrefix
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: logAnalyticsName
    appInsightsName: appInsightsName
    location: location
    tags: tags
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  dependsOn: [identity]
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    identityName: identityName
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  dependsOn: [identity]
  params: {
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
    location: location
    tags: tags
    identityName: identityName
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  scope: rg
  dependsOn: [monitoring]
  params: {
    name: '${abbrs.appManagedEnvironments}${resourceToken}'
    location: location
    tags: tags
    infrastructureSubnetId: network.outputs.infrastructureSubnetId
    logAnalyticsWorkspaceName: logAnalyticsName
  }
}

var deployment = {
  clusterId: environmentName
  serviceId: serviceId
  identityClientId: identity.outputs.clientId
  tableServiceUri: storage.outputs.tableServiceUri
  blobServiceUri: storage.outputs.blobServiceUri
  queueServiceUri: storage.outputs.queueServiceUri
  appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
}

// azd deploy updates the one app tagged for a service; it is silo 0, and the postdeploy hook in azure.yaml runs
// `azd provision` so the other silos get the same image.
module silos 'modules/silo.bicep' = [
  for i in range(0, siloCount): {
    name: 'silo-${i}'
    scope: rg
    params: {
      name: '${abbrs.appContainerApps}silo-${i}-${resourceToken}'
      location: location
      tags: i == 0 ? union(tags, { 'azd-service-name': 'silo' }) : tags
      environmentId: environment.outputs.id
      identityId: identity.outputs.id
      registryServer: registry.outputs.loginServer
      image: siloImage
      deployment: deployment
      cpu: siloCpu
      memory: siloMemory
    }
  }
]

module gateway 'modules/gateway.bicep' = {
  name: 'gateway'
  scope: rg
  params: {
    name: '${abbrs.appContainerApps}gateway-${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'gateway' })
    environmentId: environment.outputs.id
    identityId: identity.outputs.id
    registryServer: registry.outputs.loginServer
    image: gatewayImage
    deployment: deployment
    cpu: gatewayCpu
    memory: gatewayMemory
    minReplicas: gatewayMinReplicas
    maxReplicas: gatewayMaxReplicas
    scaleCpuPercent: gatewayScaleCpuPercent
    mqttExposedPort: mqttPort
    exposeMqttTls: exposeMqttTls
    mqttTlsExposedPort: mqttTlsPort
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_ENVIRONMENT_NAME string = environment.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output SERVICE_GATEWAY_NAME string = gateway.outputs.name
output SERVICE_SILO_NAMES array = [for i in range(0, siloCount): silos[i].outputs.name]
output MQTT_HOST string = gateway.outputs.fqdn
output MQTT_URL string = 'mqtt://${gateway.outputs.fqdn}:${mqttPort}'
output MQTT_WEBSOCKET_URL string = 'wss://${gateway.outputs.fqdn}/mqtt'
