// The virtual network the Container Apps environment runs in. External TCP ingress (MQTT on 1883/8883) exists only
// in a VNet-integrated environment; a workload-profiles environment needs a subnet of at least /27 delegated to it.

param name string
param location string
param tags object
param addressPrefix string
param infrastructureSubnetPrefix string

resource vnet 'Microsoft.Network/virtualNetworks@2026-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        name: 'container-apps'
        properties: {
          addressPrefix: infrastructureSubnetPrefix
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

output infrastructureSubnetId string = vnet.properties.subnets[0].id
