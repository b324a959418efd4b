// The MQTT gateways: one Container App whose replicas scale out freely (they hold no durable state).
// Main ingress is HTTP on the health/WebSocket port, so Container Apps terminates TLS for wss:// on 443; MQTT over TCP
// (1883, and 8883 for TLS) comes in through additional external TCP port mappings. See docs/deploy.md.

import { appSettings, containerEnv, DeploymentSettings, healthProbes, placeholderImage } from 'container-settings.bicep'

param name string
param location string
param tags object
param environmentId string
param identityId string
param registryServer string

@description('Image pushed by azd deploy; empty until then.')
param image string

param deployment DeploymentSettings
param cpu string
param memory string
param minReplicas int
param maxReplicas int

@description('Average CPU use, in percent, above which another replica is added.')
param scaleCpuPercent int

@description('Public port for MQTT over TCP; unique in the environment, never 80 or 443.')
param mqttExposedPort int

@description('Also expose the MQTT over TLS port (the listener arrives with the TLS work).')
param exposeMqttTls bool

@description('Public port for MQTT over TLS; unique in the environment, never 80 or 443.')
param mqttTlsExposedPort int

var ports = appSettings.ports
var mqttPort = {
  external: true
  targetPort: ports.mqtt
  exposedPort: mqttExposedPort
}
var mqttTlsPort = {
  external: true
  targetPort: ports.mqttTls
  exposedPort: mqttTlsExposedPort
}

resource gateway 'Microsoft.App/containerApps@2026-07-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        transport: 'http'
        targetPort: ports.http
        allowInsecure: false
        additionalPortMappings: exposeMqttTls ? [mqttPort, mqttTlsPort] : [mqttPort]
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'gateway'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: containerEnv(union(appSettings.common, appSettings.gateway), deployment)
          probes: empty(image) ? [] : healthProbes(ports.http)
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        // MQTT connections are long-lived and mostly idle, so the load a replica carries shows in its CPU, not in
        // request counts; a new replica takes new connections, existing ones stay where they are.
        rules: [
          {
            name: 'cpu'
            custom: {
              type: 'cpu'
              metadata: {
                type: 'Utilization'
                value: string(scaleCpuPercent)
              }
            }
          }
        ]
      }
      // Time for a stopping gateway to close its connections (v5 clients get DISCONNECT 0x8B) and tell their sessions.
      terminationGracePeriodSeconds: 30
    }
  }
}

output name string = gateway.name
output fqdn string = gateway.properties.configuration.ingress.fqdn
