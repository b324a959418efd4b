using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Durability;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

/// <summary>
/// A fleet comes online together: every device subscribes to its own filter under one first level (one wildcard
/// partition), and all of them to one broadcast topic (one topic grain). Each of those records holds every device's
/// subscription, so a storage write per SUBSCRIBE would cost each device more than the last: subscriptions that arrive
/// while a write runs share the next one, and every device gets what is published to it.
/// </summary>
public sealed class FleetSubscriptionTests
{
    private const int Devices = 200;

    [Fact]
    public async Task Subscriptions_that_reach_one_wildcard_partition_while_it_writes_share_its_next_write()
    {
        await using var broker = await StartAsync(out var index);
        var partition = broker.Grains.GetGrain<IWildcardIndexGrain>("fleet" + Guid.NewGuid().ToString("N")[..8]);
        await Task.WhenAll(Enumerable.Range(0, Devices).Select(i => partition.Subscribe($"{partition.GetPrimaryKeyString()}/{i}/cmd/#", new Subscriber($"device-{i}", 1, false, false, null))));

        // The first write, and one for all that came while it ran (a few more if they trickle in).
        Assert.InRange(index().Writes.GetValueOrDefault("wildcards"), 1, 10);
    }

    [Fact]
    public async Task Subscriptions_that_reach_one_topic_while_it_writes_share_its_next_write()
    {
        await using var broker = await StartAsync(out var index);
        var topic = broker.Grains.GetGrain<ITopicGrain>($"fleet{Guid.NewGuid():N}/all");
        await Task.WhenAll(Enumerable.Range(0, Devices).Select(i => topic.Subscribe(new Subscriber($"device-{i}", 1, false, false, null))));
        Assert.InRange(index().Writes.GetValueOrDefault("topic"), 1, 10);
    }

    [Fact]
    public async Task A_fleet_that_subscribes_together_gets_each_device_its_own_commands_and_every_device_the_broadcast()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var fleet = "fleet" + Guid.NewGuid().ToString("N")[..8];
        var devices = new TestClient[Devices];
        try
        {
            foreach (var chunk in Enumerable.Range(0, Devices).Chunk(50))
            {
                await Task.WhenAll(chunk.Select(async i => devices[i] = await TestClient.ConnectAsync(broker.Port, $"{fleet}-device-{i}", MqttProtocolVersion.V500)));
            }

            await Task.WhenAll(devices.Select(async (device, i) =>
            {
                await device.SubscribeAsync($"{fleet}/{i}/cmd/#", MqttQualityOfServiceLevel.AtLeastOnce);
                await device.SubscribeAsync($"{fleet}/all", MqttQualityOfServiceLevel.AtLeastOnce);
            }));

            await using var backend = await TestClient.ConnectAsync(broker.Port, $"backend-{fleet}", MqttProtocolVersion.V500);
            foreach (var i in new[] { 0, 57, Devices - 1 })
            {
                await backend.PublishAsync($"{fleet}/{i}/cmd/reboot", $"reboot {i}", MqttQualityOfServiceLevel.AtLeastOnce);
                var command = await devices[i].ReceiveAsync($"device {i}'s command");
                Assert.Equal($"{fleet}/{i}/cmd/reboot", command.Topic);
                Assert.Equal($"reboot {i}", command.Text());
            }

            await backend.PublishAsync($"{fleet}/all", "update", MqttQualityOfServiceLevel.AtLeastOnce);
            var received = await Task.WhenAll(devices.Select(d => d.ReceiveAsync("the broadcast")));
            Assert.All(received, m => Assert.Equal("update", m.Text()));
        }
        finally
        {
            await Task.WhenAll(devices.Where(d => d is not null).Select(d => d.DisposeAsync().AsTask()));
        }
    }

    /// <summary>An embedded broker whose index storage counts its writes, each taking 200 ms as a remote store's might.</summary>
    private static Task<EmbeddedBroker> StartAsync(out Func<CountingGrainStorage> index)
    {
        CountingGrainStorage? counting = null;
        index = () => counting!;
        return EmbeddedBroker.StartAsync(configureSilo: silo => CountingGrainStorage.Install(silo, s => (counting = s).WriteDelay = TimeSpan.FromMilliseconds(200), StorageNames.Index));
    }
}
