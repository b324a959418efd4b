using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansMqtt.Grains;

/// <summary>
/// The silo's gauges, read when metrics are collected, never on the message path: sessions and subscriptions from
/// the session-directory partitions this silo hosts, and queued and in-flight messages from the session activations
/// it holds in memory. Summed over silos they give the cluster's figures.
/// </summary>
public static class SiloMetrics
{
    private static readonly ConcurrentDictionary<SessionGrain, byte> Sessions = new(ReferenceEqualityComparer.Instance);
    private static readonly ConcurrentDictionary<SessionDirectoryGrain, byte> Directories = new(ReferenceEqualityComparer.Instance);
    private static readonly KeyValuePair<string, object?> Online = new("state", "online");
    private static readonly KeyValuePair<string, object?> Offline = new("state", "offline");
    private static long _parked;
    private static long _resumed;

    static SiloMetrics()
    {
        var meter = BrokerMetrics.Meter;
        meter.CreateObservableUpDownCounter("mqtt.sessions", ObserveSessions, "{session}", "Sessions: online (connected) and offline persistent, from the directory partitions on this silo");
        meter.CreateObservableUpDownCounter("mqtt.subscriptions", () => Directories.Keys.Sum(d => d.Counts.Subscriptions), "{subscription}", "Subscriptions of the sessions in the directory partitions on this silo");
        meter.CreateObservableUpDownCounter("mqtt.messages.queued", () => SumSessions(static s => s.Held.Queued), "{message}", "Messages queued by the session activations on this silo (offline or beyond the in-flight window)");
        meter.CreateObservableUpDownCounter("mqtt.messages.inflight", () => SumSessions(static s => s.Held.InFlight), "{message}", "QoS 1/2 messages sent and not yet acknowledged, in the session activations on this silo");
        meter.CreateObservableCounter("mqtt.sessions.parked", () => Volatile.Read(ref _parked), "{session}", "Quiet connected sessions whose state this silo moved to storage, freeing their activation (Mqtt:Sessions:ParkAfter)");
        meter.CreateObservableCounter("mqtt.sessions.resumed", () => Volatile.Read(ref _resumed), "{session}", "Parked sessions this silo activated again from storage");
    }

    /// <summary>Creates the instruments; call once at silo start.</summary>
    public static void EnsureCreated() => BrokerMetrics.EnsureCreated();

    internal static void SessionActivated(SessionGrain session) => Sessions.TryAdd(session, 0);

    internal static void SessionDeactivated(SessionGrain session) => Sessions.TryRemove(session, out _);

    internal static void SessionParked() => Interlocked.Increment(ref _parked);

    internal static void SessionResumed() => Interlocked.Increment(ref _resumed);

    internal static void DirectoryActivated(SessionDirectoryGrain directory) => Directories.TryAdd(directory, 0);

    internal static void DirectoryDeactivated(SessionDirectoryGrain directory) => Directories.TryRemove(directory, out _);

    /// <summary>Read from another thread than the grains': a session being torn down counts as holding nothing.</summary>
    private static long SumSessions(Func<SessionGrain, int> held)
    {
        long sum = 0;
        foreach (var session in Sessions.Keys)
        {
            try
            {
                sum += held(session);
            }
            catch (Exception ex) when (ex is InvalidOperationException or NullReferenceException)
            {
            }
        }

        return sum;
    }

    private static IEnumerable<Measurement<long>> ObserveSessions()
    {
        long online = 0, offline = 0;
        foreach (var directory in Directories.Keys)
        {
            var counts = directory.Counts;
            online += counts.Online;
            offline += counts.OfflinePersistent;
        }

        return [new(online, Online), new(offline, Offline)];
    }
}
