using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Durability;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

/// <summary>
/// A fleet comes online together: every device subscribes to its own filter under one first level (one wildcard
/// partition), or all of them to one broadcast topic (one topic grain). That record holds every device's subscription,
/// so a storage write per SUBSCRIBE would cost each device more than the last; subscriptions that arrive together share
/// writes, and every device gets what is published to it.
/// </summary>
public sealed class FleetSubscriptionTests
{
    private const int Devices = 200;

    [Fact]
    public async Task Devices_subscribing_together_to_their_own_wildcard_filters_share_the_partitions_writes_and_each_gets_its_commands()
    {
        CountingGrainStorage? index = null;
        await using var broker = await EmbeddedBroker.StartAsync(configureSilo: silo => CountingGrainStorage.Install(silo, s => index = s, StorageNames.Index));
        var fleet = "fleet" + Guid.NewGuid().ToString("N")[..8];
        var devices = await ConnectAsync(broker.Port, fleet);
        try
        {
            await Task.WhenAll(devices.Select((device, i) => device.SubscribeAsync($"{fleet}/{i}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce)));
            var writes = index!.Writes.GetValueOrDefault("wildcards");
            Assert.InRange(writes, 1, Devices / 2);

            await using var backend = await TestClient.ConnectAsync(broker.Port, $"backend-{fleet}", MqttProtocolVersion.V500);
            foreach (var i in new[] { 0, 57, Devices - 1 })
            {
                await backend.PublishAsync($"{fleet}/{i}/cmd/reboot", $"reboot {i}", MqttQualityOfServiceLevel.AtLeastOnce);
                var command = await devices[i].ReceiveAsync($"device {i}'s command");
                Assert.Equal($"reboot {i}", command.Text());
                Assert.Equal($"{fleet}/{i}/cmd/reboot", command.Topic);
            }
        }
        finally
        {
            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Devices_subscribing_together_to_one_broadcast_topic_share_its_writes_and_all_get_the_broadcast()
    {
        CountingGrainStorage? index = null;
        await using var broker = await EmbeddedBroker.StartAsync(configureSilo: silo => CountingGrainStorage.Install(silo, s => index = s, StorageNames.Index));
        var fleet = "fleet" + Guid.NewGuid().ToString("N")[..8];
        var devices = await ConnectAsync(broker.Port, fleet);
        try
        {
            await Task.WhenAll(devices.Select(device => device.SubscribeAsync($"{fleet}/all", MqttQualityOfServiceLevel.AtLeastOnce)));
            Assert.InRange(index!.Writes.GetValueOrDefault("topic"), 1, Devices / 2);

            await using var backend = await TestClient.ConnectAsync(broker.Port, $"backend-{fleet}", MqttProtocolVersion.V500);
            await backend.PublishAsync($"{fleet}/all", "update", MqttQualityOfServiceLevel.AtLeastOnce);
            var received = await Task.WhenAll(devices.Select(d => d.ReceiveAsync("the broadcast")));
            Assert.All(received, m => Assert.Equal("update", m.Text()));
        }
        finally
        {
            await Task.WhenAll(devices.Select(d => d.DisposeAsync().AsTask()));
        }
    }

    private static async Task<TestClient[]> ConnectAsync(int port, string fleet)
    {
        var devices = new TestClient[Devices];
        foreach (var chunk in Enumerable.Range(0, Devices).Chunk(50))
        {
            await Task.WhenAll(chunk.Select(async i => devices[i] = await TestClient.ConnectAsync(port, $"{fleet}-device-{i}", MqttProtocolVersion.V500)));
        }

        return devices;
    }
}
