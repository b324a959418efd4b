// One silo: a Container App with exactly one replica, so each silo has a stable, distinct endpoint. It advertises its
// replica's private IP (Orleans__AdvertisedIPAddress=auto) and is reached there on the silo and gateway ports by the
// other silos and by the gateways, which find it in the membership table.

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

var ports = appSettings.ports

resource silo 'Microsoft.App/containerApps@2026-07-01' = {
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
      // Internal TCP ingress declares the silo-to-silo and gateway ports inside the environment; internal ports may
      // repeat across apps, so every silo uses the same ones.
      ingress: {
        external: false
        transport: 'tcp'
        targetPort: ports.silo
        exposedPort: ports.silo
        additionalPortMappings: [
          {
            external: false
            targetPort: ports.gateway
            exposedPort: ports.gateway
          }
        ]
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
          name: 'silo'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: containerEnv(union(appSettings.common, appSettings.silo), deployment)
          probes: empty(image) ? [] : healthProbes(ports.http)
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
      // Time for a stopping silo to hand over its grains and leave the membership table.
      terminationGracePeriodSeconds: 60
    }
  }
}

output name string = silo.name
