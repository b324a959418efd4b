using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Grains;

/// <summary>Settings of sessions and routing (section <c>Mqtt:Sessions</c>).</summary>
public sealed class SessionOptions
{
    public const string Section = "Mqtt:Sessions";

    /// <summary>Messages a persistent session queues while offline (or beyond its in-flight window).</summary>
    [Range(1, 10_000_000)]
    public int MaxQueuedMessages { get; set; } = 1000;

    /// <summary>What to drop when the queue is full: the incoming message (as mosquitto does) or the oldest queued one.</summary>
    public QueueOverflowPolicy QueueOverflow { get; set; } = QueueOverflowPolicy.DropNewest;

    /// <summary>Also queue QoS 0 messages for offline persistent sessions.</summary>
    public bool QueueQos0WhileOffline { get; set; }

    /// <summary>Unacknowledged QoS 1/2 messages out to one client at most (the client's Receive Maximum can lower it).</summary>
    [Range(1, 65535)]
    public int MaxInflightMessages { get; set; } = 100;

    /// <summary>
    /// How long a connected session may be quiet (no call to it) before it is parked: its state goes to grain storage
    /// and its activation is collected, while its client stays connected; the next delivery, acknowledgement,
    /// subscription, take-over or end of the connection brings it back. Zero keeps every connected session in memory.
    /// </summary>
    public TimeSpan ParkAfter { get; set; } = TimeSpan.FromMinutes(2);

    internal bool ParkAfterIsValid => ParkAfter == TimeSpan.Zero || ParkAfter >= TimeSpan.FromSeconds(1);
}

public enum QueueOverflowPolicy
{
    DropNewest,
    DropOldest,
}

/// <summary>Settings of the subscription index (section <c>Mqtt:Routing</c>).</summary>
public sealed class RoutingOptions
{
    public const string Section = "Mqtt:Routing";

    /// <summary>
    /// How long a topic grain trusts a wildcard partition's cached answer without hearing from it. Partitions tell
    /// topic grains of changes; this bound only matters when a partition was lost with its silo.
    /// </summary>
    public TimeSpan WildcardCacheLifetime { get; set; } = TimeSpan.FromSeconds(30);
}
