using System.Diagnostics;
using OrleansMqtt.Bench.Client;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>
/// Fan-in (P publishers, one subscriber on a wildcard), fan-out (one publisher, S subscribers) and point-to-point
/// pairs, at QoS 0, 1 or 2; "persistent" is fan-in with every session persistent (clean session 0).
/// Every message is numbered; losses, duplicates and reordering are counted per subscriber and reported.
/// </summary>
public static class ThroughputScenario
{
    public enum Topology
    {
        FanIn,
        FanOut,
        Pairs,
    }

    public static async Task<Report> RunAsync(string name, Topology topology, bool persistent, BenchOptions options)
    {
        var (publishers, subscribers) = topology switch
        {
            Topology.FanIn => (options.Int("publishers", 8), 1),
            Topology.FanOut => (1, options.Int("subscribers", 50)),
            _ => (options.Int("pairs", 50), 0),
        };
        if (topology == Topology.Pairs)
        {
            subscribers = publishers;
        }

        var qos = options.Qos("qos", persistent ? 1 : 0);
        var messages = options.Int("messages", topology == Topology.FanIn ? 200_000 / publishers : 4_000);
        var payloadSize = options.Int("payload", 64);
        // End-to-end window per subscriber, shared by the publishers it hears from. At QoS 1/2 it stays below a
        // broker's per-session in-flight + queue limits (100 + 1,000 here, for both brokers), so nothing is dropped.
        var window = options.Int("window", qos == QualityOfService.AtMostOnce ? 1_000 : 500);
        var inflight = options.Int("inflight", 100);
        var stall = TimeSpan.FromSeconds(options.Double("stall-seconds", 3));
        var connector = new Connector(options) { SourceAddresses = options.Int("sources", 1) };
        var prefix = $"bench/{options.RunId}/{name}";
        var receiversPerMessage = topology == Topology.FanOut ? subscribers : 1;
        var perPublisherWindow = topology == Topology.FanIn ? Math.Max(1, window / publishers) : window;

        using var cancel = new CancellationTokenSource();
        var delivered = new long[publishers];
        var signals = Enumerable.Range(0, publishers).Select(_ => new AsyncSignal()).ToArray();

        string SubscriberId(int i) => $"b{options.RunId}-{name}-s{i}";
        string PublisherId(int i) => $"b{options.RunId}-{name}-p{i}";
        string Topic(int publisher) => topology switch
        {
            Topology.FanOut => $"{prefix}/all",
            _ => $"{prefix}/{publisher}",
        };
        string Filter(int subscriber) => topology switch
        {
            Topology.FanIn => $"{prefix}/+",
            Topology.FanOut => $"{prefix}/all",
            _ => $"{prefix}/{subscriber}",
        };

        var subscriberConnections = await connector.ConnectManyAsync(subscribers, SubscriberId, cleanStart: !persistent, cancel.Token);
        var trackers = new DeliveryTracker[subscribers];
        var readers = new List<Task>();
        for (var i = 0; i < subscribers; i++)
        {
            await subscriberConnections[i].SubscribeAsync(Filter(i), qos, cancel.Token);
            trackers[i] = new DeliveryTracker(publishers, messages, delivered, signals);
            readers.Add(subscriberConnections[i].ReadLoopAsync(trackers[i], cancel.Token));
        }

        var publisherConnections = await connector.ConnectManyAsync(publishers, PublisherId, cleanStart: !persistent, cancel.Token);
        var publisherList = new Publisher[publishers];
        for (var i = 0; i < publishers; i++)
        {
            publisherList[i] = new Publisher(i, publisherConnections[i], Topic(i), qos, payloadSize, delivered, signals[i]);
            readers.Add(publisherConnections[i].ReadLoopAsync(publisherList[i], cancel.Token));
        }

        Log.Info($"{name}: {publishers} publishers, {subscribers} subscribers, QoS {(int)qos}, {messages} messages each; sending");
        var cpuBefore = ProcessStats.CpuSeconds(options.Pids);
        var clientCpuBefore = ProcessStats.OwnCpuSeconds();
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(options.MaxSeconds * Stopwatch.Frequency);
        await Task.WhenAll(publisherList.Select(p => Task.Run(() => p.RunAsync(messages, receiversPerMessage, perPublisherWindow, inflight, deadline, stall, cancel.Token))));
        var sendEnd = Stopwatch.GetTimestamp();

        long expected = publisherList.Sum(p => (long)p.Sent * receiversPerMessage);
        await Drain(() => trackers.Sum(t => t.Unique), expected, stall);
        var cpuAfter = ProcessStats.CpuSeconds(options.Pids);
        var clientCpu = ProcessStats.OwnCpuSeconds() - clientCpuBefore;

        var unique = trackers.Sum(t => t.Unique);
        var lastDelivery = trackers.Max(t => t.LastUniqueAt);
        var elapsed = Stopwatch.GetElapsedTime(start, Math.Max(lastDelivery, sendEnd)).TotalSeconds;

        await cancel.CancelAsync();
        await Task.WhenAll(publisherConnections.Concat(subscriberConnections).Select(c => c.DisconnectAsync()));
        await Task.WhenAll(readers);
        if (persistent)
        {
            await RemoveSessionsAsync(connector, publishers, PublisherId, subscribers, SubscriberId);
        }

        var brokerCpu = cpuAfter - cpuBefore;
        return new Report(name, options)
            .Add("qos", (int)qos)
            .Add("publishers", publishers)
            .Add("subscribers", subscribers)
            .Add("persistent", persistent)
            .Add("payload_bytes", payloadSize)
            .Add("messages_per_publisher", messages)
            .Add("window", window)
            .Add("sent", publisherList.Sum(p => (long)p.Sent))
            .Add("acked", qos == QualityOfService.AtMostOnce ? null : publisherList.Sum(p => p.Completed))
            .Add("expected", expected)
            .Add("delivered", unique)
            .Add("lost", expected - unique)
            .Add("duplicates", trackers.Sum(t => t.Duplicates))
            .Add("out_of_order", trackers.Sum(t => t.OutOfOrder))
            .Add("foreign", trackers.Sum(t => t.Foreign))
            .Add("stalled_publishers", publisherList.Count(p => p.Stalled))
            .Add("elapsed_s", elapsed)
            .Add("msgs_per_s", unique / elapsed)
            .Add("broker_cpu_s", brokerCpu)
            .Add("broker_cpu_s_per_million", brokerCpu / unique * 1e6)
            .Add("client_cpu_s", clientCpu);
    }

    /// <summary>Waits until <paramref name="expected"/> deliveries arrived, or none arrived for <paramref name="patience"/>.</summary>
    internal static async Task Drain(Func<long> count, long expected, TimeSpan patience)
    {
        long last = -1;
        var lastChange = Stopwatch.GetTimestamp();
        while (true)
        {
            var now = count();
            if (now >= expected)
            {
                return;
            }

            if (now != last)
            {
                last = now;
                lastChange = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastChange) > patience)
            {
                return;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Persistent sessions outlive the run; a clean connect and disconnect ends each one.</summary>
    private static async Task RemoveSessionsAsync(Connector connector, int publishers, Func<int, string> publisherId, int subscribers, Func<int, string> subscriberId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ids = Enumerable.Range(0, publishers).Select(publisherId).Concat(Enumerable.Range(0, subscribers).Select(subscriberId)).ToArray();
        try
        {
            var connections = await connector.ConnectManyAsync(ids.Length, i => ids[i], cleanStart: true, timeout.Token);
            await Task.WhenAll(connections.Select(c => c.DisconnectAsync()));
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException or System.Net.Sockets.SocketException)
        {
            Log.Info($"Could not remove the persistent sessions: {ex.Message}");
        }
    }
}
