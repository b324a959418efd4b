using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>The <c>$SYS/broker/...</c> topics a monitoring tool subscribes to, after traffic whose figures are known.</summary>
public sealed class SysTopicsTests
{
    [Fact]
    public async Task SYS_topics_report_clients_messages_bytes_subscriptions_and_retained_counts_of_the_cluster()
    {
        await using var broker = await ObservedBroker.StartAsync();

        // One persistent session left offline with one subscription.
        await using (var sleeper = await TestClient.ConnectAsync(broker.MqttPort, "sys-sleeper", configure: o => o.WithCleanSession(false)))
        {
            await sleeper.SubscribeAsync("sys/commands", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await using var publisher = await TestClient.ConnectAsync(broker.MqttPort, "sys-publisher");
        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync("sys/telemetry", "x", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await publisher.PublishAsync("sys/state", "on", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);

        // A client subscribed to '#' sees no $SYS topic: they never match a filter starting with a wildcard.
        await using var everything = await TestClient.ConnectAsync(broker.MqttPort, "sys-everything");
        await everything.SubscribeAsync("#");
        await using var monitor = await TestClient.ConnectAsync(broker.MqttPort, "sys-monitor");
        await monitor.SubscribeAsync("$SYS/#");

        // Expected: monitor, publisher and everything connected; the sleeper offline; three subscriptions; five PUBLISH received.
        var values = new Dictionary<string, string>();
        var deadline = DateTime.UtcNow + ObservedBroker.Patience;
        bool Settled() =>
            values.GetValueOrDefault("$SYS/broker/clients/connected") == "3"
            && values.GetValueOrDefault("$SYS/broker/clients/disconnected") == "1"
            && values.GetValueOrDefault("$SYS/broker/subscriptions/count") == "3"
            && values.GetValueOrDefault("$SYS/broker/clients/active") == "3"
            && values.GetValueOrDefault("$SYS/broker/clients/total") == "4"
            && values.GetValueOrDefault("$SYS/broker/messages/received") == "5"
            && values.GetValueOrDefault("$SYS/broker/publish/messages/received") == "5"
            && values.GetValueOrDefault("$SYS/broker/cluster/gateways") == "1"
            && values.GetValueOrDefault("$SYS/broker/retained messages/count") == (values.Keys.Count(k => k.StartsWith("$SYS/", StringComparison.Ordinal)) + 1).ToString()
            // One interval's topics arrive one after the other: the counters below may still show the interval before.
            && Number("$SYS/broker/clients/maximum") >= 3
            && Number("$SYS/broker/bytes/received") > 5 * "sys/telemetry".Length
            && Number("$SYS/broker/bytes/sent") > 0
            && Number("$SYS/broker/messages/sent") > 0;
        long Number(string topic) => long.TryParse(values.GetValueOrDefault(topic), out var n) ? n : -1;
        while (!Settled())
        {
            Assert.True(DateTime.UtcNow < deadline, "The $SYS topics never showed the traffic; last seen:\n" + string.Join('\n', values.Select(v => $"{v.Key} {v.Value}")));
            var message = await monitor.ReceiveAsync("$SYS updates");
            values[message.Topic] = message.Text();
        }

        Assert.StartsWith("OrleansMqtt ", values["$SYS/broker/version"]);
        Assert.Matches("^[0-9]+ seconds$", values["$SYS/broker/uptime"]);

        // Only the retained sys/state reached the '#' subscriber, nothing under $SYS.
        var retained = await everything.ReceiveAsync("the retained message on sys/state");
        Assert.Equal("sys/state", retained.Topic);
        await publisher.PublishAsync("sys/marker", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        var seen = await everything.ReceiveUntilAsync("sys/marker");
        Assert.DoesNotContain(seen, m => m.Topic.StartsWith('$'));
    }

    [Fact]
    public async Task With_Mqtt_Sys_Enabled_false_nothing_is_published_under_SYS()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Sys:Enabled"] = "false",
            ["Mqtt:Sys:Interval"] = "00:00:00.200",
            ["Mqtt:Telemetry:ReportInterval"] = "00:00:00.100",
        });
        await using var client = await TestClient.ConnectAsync(broker.Port, "sys-off");
        await ObservedBroker.WaitForAsync(
            () => broker.Grains.GetGrain<IClusterStatsGrain>(0).GetStats(),
            s => s.History.Length >= 3,
            "sampled three intervals");

        Assert.Empty(await broker.Grains.GetGrain<IRetainedIndexGrain>("$SYS").Match("$SYS/#"));
        await client.SubscribeAsync("$SYS/#");
        await client.SubscribeAsync("sys-off/marker");
        await client.PublishAsync("sys-off/marker", "end");
        Assert.Equal("sys-off/marker", (await client.ReceiveAsync("the marker, and no $SYS message before it")).Topic);
    }
}
