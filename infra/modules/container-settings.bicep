// What silo and gateway containers share: settings from infra/app-settings.json, the per-deployment settings, the
// health probes and the placeholder image used until azd has pushed a real one.

@export()
@description('infra/app-settings.json: ports and the environment variables that do not depend on the deployment.')
var appSettings = loadJsonContent('../app-settings.json')

@export()
@description('Runs until azd deploy pushes the real image (the registry is empty at the first provision).')
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'

@export()
@description('Per-deployment settings of the cloud profile: where storage is and which identity signs in to it.')
type DeploymentSettings = {
  clusterId: string
  serviceId: string
  identityClientId: string
  tableServiceUri: string
  blobServiceUri: string
  queueServiceUri: string
  appInsightsConnectionString: string
}

@export()
@description('Environment variables of a container: the static ones of its role, then the per-deployment ones.')
func containerEnv(staticSettings object, deployment DeploymentSettings) array =>
  concat(
    map(items(staticSettings), setting => { name: setting.key, value: setting.value }),
    [
      { name: 'Orleans__ClusterId', value: deployment.clusterId }
      { name: 'Orleans__ServiceId', value: deployment.serviceId }
      { name: 'Azure__ClientId', value: deployment.identityClientId }
      { name: 'Azure__Storage__TableServiceUri', value: deployment.tableServiceUri }
      { name: 'Azure__Storage__BlobServiceUri', value: deployment.blobServiceUri }
      { name: 'Azure__Storage__QueueServiceUri', value: deployment.queueServiceUri }
      { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: deployment.appInsightsConnectionString }
    ]
  )

@export()
@description('''
Startup, liveness and readiness probes on the health listener (Mqtt:Http). The process serves HTTP only once it has
joined the cluster (a silo) or reached it (a gateway), so the startup probe allows about two minutes for that.
''')
func healthProbes(port int) array => [
  {
    type: 'Startup'
    httpGet: { path: '/healthz', port: port }
    initialDelaySeconds: 5
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 10
  }
  {
    type: 'Liveness'
    httpGet: { path: '/healthz', port: port }
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  }
  {
    type: 'Readiness'
    httpGet: { path: '/readyz', port: port }
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 3
  }
]
