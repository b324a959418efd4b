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

    [Fact]
    public async Task A_bridge_that_holds_all_it_may_makes_publishers_wait_instead_of_dropping_what_they_were_acknowledged()
    {
        const int count = 60;
        const int holds = 5 + 20; // the bridge session's in-flight window and queue
        var id = BridgeTesting.NewId();
        var queueName = $"backlog-{id}";
        await using var storage = await RestartableAzurite.StartAsync();
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = storage.ConnectionString,
            ["Mqtt:Bridges:Outbound:0:Filter"] = $"backlog/{id}/#",
            ["Mqtt:Bridges:Outbound:0:Queue"] = queueName,
            ["Mqtt:Bridges:MaxRetryDelay"] = "00:00:01",
            ["Mqtt:Sessions:MaxInflightMessages"] = "5",
            ["Mqtt:Sessions:MaxQueuedMessages"] = "20",
            ["Mqtt:PublishRetryTimeout"] = "00:03:00",
        });
        await broker.WaitForOutboundAsync(queueName);
        await using var device = await TestClient.ConnectAsync(broker.Port, $"device-{id}");
        await storage.StopAsync();

        var acknowledged = 0;
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var result = await device.PublishAsync($"backlog/{id}/telemetry", i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
                Assert.True(result.IsSuccess, $"message {i}: {result.ReasonCode}");
                Interlocked.Increment(ref acknowledged);
            }
        });

        // The bridge takes what it may hold; then the publisher's next PUBACK waits for the queue service.
        await BridgeTesting.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref acknowledged) >= holds), "the bridge's session filling up");
        var atFull = Volatile.Read(ref acknowledged);
        await Task.WhenAny(publishing, Task.Delay(TimeSpan.FromSeconds(3)));
        Assert.False(publishing.IsCompleted, "every message was acknowledged while the queue service was down");
        Assert.True(Volatile.Read(ref acknowledged) <= holds + 1, $"{Volatile.Read(ref acknowledged)} acknowledged with the queue service down; the bridge holds {holds}");
        output.WriteLine($"{atFull} acknowledged when the bridge was full; the publisher waits");

        await storage.RestartAsync();
        await publishing.WaitAsync(TimeSpan.FromMinutes(2));

        var envelopes = await BridgeTesting.ReadNumbersAsync(BridgeTesting.Queue(storage.ConnectionString, queueName), 1, count);
        BridgeTesting.AssertCompleteAndInOrder($"device-{id}", BridgeTesting.NumbersByPublisher(envelopes)[$"device-{id}"], count);
    }
}
