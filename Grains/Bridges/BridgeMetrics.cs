using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansMqtt.Grains;

/// <summary>
/// The bridges' instruments on the broker's meter "OrleansMqtt". Every instrument carries the tags <c>direction</c>
/// (<c>outbound</c>: MQTT → queue, <c>inbound</c>: queue → MQTT) and <c>queue</c>.
/// </summary>
public static class BridgeMetrics
{
    public const string Outbound = "outbound";
    public const string Inbound = "inbound";

    private static readonly Meter Meter = new("OrleansMqtt");

    // Lag per (direction, queue), reported by the bridge grains active in this silo.
    private static readonly ConcurrentDictionary<(string Direction, string Queue), long> Lags = new();

    private static readonly Counter<long> ForwardedCounter = Meter.CreateCounter<long>(
        "mqtt.bridge.forwarded", "{message}", "Messages a bridge moved: appended to a queue (outbound) or published (inbound).");

    private static readonly Counter<long> FailedCounter = Meter.CreateCounter<long>(
        "mqtt.bridge.failed", "{attempt}", "Attempts to append to a queue or to publish that failed (each is retried or set aside).");

    private static readonly Counter<long> RetriedCounter = Meter.CreateCounter<long>(
        "mqtt.bridge.retried", "{attempt}", "Attempts repeated after a failure (outbound: a send again; inbound: a message received again).");

    private static readonly Counter<long> PoisonedCounter = Meter.CreateCounter<long>(
        "mqtt.bridge.poisoned", "{message}", "Messages set aside: moved to the poison queue (inbound), or too large for a queue message (outbound).");

    static BridgeMetrics()
    {
        Meter.CreateObservableGauge(
            "mqtt.bridge.lag",
            () => Lags.Select(l => new Measurement<long>(l.Value, Tags(l.Key.Direction, l.Key.Queue))),
            "{message}",
            "Outbound: messages held by the bridge's session not yet appended to the queue. Inbound: approximate length of the queue.");
    }

    public static void Forwarded(string direction, string queue, long count = 1) => ForwardedCounter.Add(count, Tags(direction, queue));

    public static void Failed(string direction, string queue) => FailedCounter.Add(1, Tags(direction, queue));

    public static void Retried(string direction, string queue) => RetriedCounter.Add(1, Tags(direction, queue));

    public static void Poisoned(string direction, string queue) => PoisonedCounter.Add(1, Tags(direction, queue));

    public static void SetLag(string direction, string queue, long lag) => Lags[(direction, queue)] = lag;

    /// <summary>The bridge left this silo: another silo reports its lag now.</summary>
    public static void RemoveLag(string direction, string queue) => Lags.TryRemove((direction, queue), out _);

    private static KeyValuePair<string, object?>[] Tags(string direction, string queue) =>
        [new("direction", direction), new("queue", queue)];
}
