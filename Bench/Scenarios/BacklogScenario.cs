using System.Diagnostics;
using OrleansMqtt.Bench.Client;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>
/// A deep offline queue: a persistent session subscribes and goes offline, one publisher sends it numbered messages
/// (QoS 1 by default, each acknowledged once the broker holds it for the session), then the session comes back and
/// takes them all. Reports both rates, the broker's CPU for each part, and losses, duplicates and reordering.
/// </summary>
public static class BacklogScenario
{
    public static async Task<Report> RunAsync(BenchOptions options)
    {
        var qos = options.Qos("qos", 1);
        var messages = options.Int("messages", 1_000);
        var payloadSize = options.Int("payload", 16_000);
        var inflight = options.Int("inflight", 20);
        var stall = TimeSpan.FromSeconds(options.Double("stall-seconds", 10));
        var connector = new Connector(options);
        var topic = $"bench/{options.RunId}/backlog";
        var subscriberId = $"b{options.RunId}-backlog-s";
        using var cancel = new CancellationTokenSource();

        // The session: subscribed, then offline.
        var subscriber = await connector.ConnectAsync(0, subscriberId, cleanStart: false, cancel.Token);
        await subscriber.SubscribeAsync(topic, qos, cancel.Token);
        await subscriber.DisconnectAsync();
        await subscriber.DisposeAsync();

        var delivered = new long[1];
        var signals = new[] { new AsyncSignal() };
        var connection = await connector.ConnectAsync(0, $"b{options.RunId}-backlog-p", cleanStart: true, cancel.Token);
        var publisher = new Publisher(0, connection, topic, qos, payloadSize, delivered, signals[0]);
        var publisherReader = connection.ReadLoopAsync(publisher, cancel.Token);

        Log.Info($"backlog: {messages} messages of {payloadSize} bytes, QoS {(int)qos}, to an offline session");
        var cpuStart = ProcessStats.CpuSeconds(options.Pids);
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(options.MaxSeconds * Stopwatch.Frequency);

        // No one reads while the session is offline: the window is the whole run, the in-flight bound the publisher's.
        await publisher.RunAsync(messages, receivers: 1, window: messages, inflight, deadline, stall, cancel.Token);
        await ThroughputScenario.Drain(() => qos == QualityOfService.AtMostOnce ? publisher.Sent : publisher.Completed, publisher.Sent, stall);
        var published = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpuPublished = ProcessStats.CpuSeconds(options.Pids);

        // The session comes back and takes what was kept for it.
        var tracker = new DeliveryTracker(1, messages, delivered, signals);
        var drainStart = Stopwatch.GetTimestamp();
        var returning = await connector.ConnectAsync(0, subscriberId, cleanStart: false, cancel.Token);
        var reader = returning.ReadLoopAsync(tracker, cancel.Token);
        await ThroughputScenario.Drain(() => tracker.Unique, publisher.Sent, stall);
        var drained = Stopwatch.GetElapsedTime(drainStart, Math.Max(tracker.LastUniqueAt, drainStart)).TotalSeconds;
        var cpuDrained = ProcessStats.CpuSeconds(options.Pids);

        await cancel.CancelAsync();
        await Task.WhenAll(connection.DisconnectAsync(), returning.DisconnectAsync());
        await Task.WhenAll(publisherReader, reader);

        // The session outlives the run; a clean connect ends it.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            var end = await connector.ConnectAsync(0, subscriberId, cleanStart: true, timeout.Token);
            await end.DisconnectAsync();
        }

        var unique = tracker.Unique;
        return new Report("backlog", options)
            .Add("qos", (int)qos)
            .Add("payload_bytes", payloadSize)
            .Add("messages", messages)
            .Add("inflight", inflight)
            .Add("sent", publisher.Sent)
            .Add("acked", qos == QualityOfService.AtMostOnce ? null : publisher.Completed)
            .Add("delivered", unique)
            .Add("lost", publisher.Sent - unique)
            .Add("duplicates", tracker.Duplicates)
            .Add("out_of_order", tracker.OutOfOrder)
            .Add("publish_s", published)
            .Add("publish_msgs_per_s", publisher.Sent / published)
            .Add("drain_s", drained)
            .Add("drain_msgs_per_s", drained > 0 ? unique / drained : null)
            .Add("broker_cpu_publish_s", cpuPublished - cpuStart)
            .Add("broker_cpu_drain_s", cpuDrained - cpuPublished);
    }
}
