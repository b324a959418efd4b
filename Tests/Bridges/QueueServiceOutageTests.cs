using System.Diagnostics;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>The queue service stops mid-stream and comes back: nothing acknowledged is lost, nothing else waits.</summary>
public sealed class QueueServiceOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_acknowledged_message_reaches_the_queue_when_the_queue_service_stops_and_restarts_mid_stream()
    {
        const int count = 300;
        var id = BridgeTesting.NewId();
        var queueName = $"outage-{id}";
        await using var storage = await RestartableAzurite.StartAsync();
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = storage.ConnectionString,
            ["Mqtt:Bridges:Outbound:0:Filter"] = $"outage/{id}/#",
            ["Mqtt:Bridges:Outbound:0:Queue"] = queueName,
            ["Mqtt:Bridges:MaxRetryDelay"] = "00:00:01",
        });
        await broker.WaitForOutboundAsync(queueName);
        await using var device = await TestClient.ConnectAsync(broker.Port, $"device-{id}");
        await using var watcher = await TestClient.ConnectAsync(broker.Port, $"watcher-{id}");
        await watcher.SubscribeAsync($"other/{id}", MqttQualityOfServiceLevel.AtLeastOnce);

        async Task PublishAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var result = await device.PublishAsync($"outage/{id}/telemetry", i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
                Assert.True(result.IsSuccess, $"message {i}: {result.ReasonCode}");
            }
        }

        await PublishAsync(0, 100);
        await storage.StopAsync();
        output.WriteLine("queue service stopped after 100 acknowledged messages");

        // While the queue is down, publishers still get their PUBACKs (the bridge's session holds the messages) and
        // traffic that is not bridged flows as before.
        var stopwatch = Stopwatch.StartNew();
        await PublishAsync(100, 200);
        output.WriteLine($"100 messages acknowledged in {stopwatch.ElapsedMilliseconds} ms with the queue service down");
        stopwatch.Restart();
        await device.PublishAsync($"other/{id}", "unbridged", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("unbridged", (await watcher.ReceiveAsync("a message on a topic no bridge matches")).Text());
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"unbridged traffic took {stopwatch.ElapsedMilliseconds} ms");
        var bridge = broker.Grains.GetGrain<IOutboundBridgeGrain>(queueName);
        await BridgeTesting.WaitUntilAsync(async () => (await bridge.GetInfo()).Failed > 0, "the bridge noticing the outage");

        await storage.RestartAsync();
        output.WriteLine("queue service restarted");
        await PublishAsync(200, count);

        var envelopes = await BridgeTesting.ReadNumbersAsync(BridgeTesting.Queue(storage.ConnectionString, queueName), 1, count);
        var numbers = BridgeTesting.NumbersByPublisher(envelopes)[$"device-{id}"];
        BridgeTesting.AssertCompleteAndInOrder($"device-{id}", numbers, count);
        var info = await bridge.GetInfo();
        output.WriteLine($"forwarded {info.Forwarded}, failed attempts {info.Failed}, duplicates {numbers.Count - count}");
    }
}
