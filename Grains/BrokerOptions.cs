using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Grains;

/// <summary>Settings of sessions and routing (section <c>Mqtt:Sessions</c>).</summary>
public sealed class SessionOptions
{
    public const string Section = "Mqtt:Sessions";

    /// <summary>Messages a persistent session queues while offline (or beyond its in-flight window).</summary>
    [Range(1, 10_000_000)]
    public int MaxQueuedMessages { get; set; } = 1000;

    /// <summary>
    /// Bytes of messages one session holds, queued and in flight together, each counted at the size it takes in stored
    /// state (<see cref="StoredSize"/>): a message that would take the session past it meets the queue's overflow policy.
    /// Unset: <see cref="DefaultMaxSessionBytes"/>.
    /// </summary>
    [Range(4096, long.MaxValue)]
    public long? MaxSessionBytes { get; set; }

    /// <summary>
    /// The most one stored record takes in the silo's grain storage: set by the silo for Azure Table storage (one
    /// entity), where a session's messages are kept in pages of such records and the session's own record names them;
    /// null where there is no such bound (memory, Azure Blob).
    /// </summary>
    internal long? StorageRecordLimit { get; set; }

    public const long DefaultMaxSessionBytes = 16 * 1024 * 1024;

    /// <summary>
    /// What one Azure Table entity holds of a grain's state: 15 binary properties of 64 KB (960 KiB), and the service
    /// refuses an entity over 1 MiB. Azurite counts the entity as the JSON it receives, with the binary in base64, so
    /// there it holds a little less than 768 KiB; this bound fits both.
    /// </summary>
    public const long AzureTableRecordLimit = 720 * 1024;

    /// <summary>What a page keeps beside one message: its sequence number and the lists around it.</summary>
    public const long PageReserve = 1024;

    /// <summary>What a session's record keeps for the will (CONNECT packets are at most 64 KB by default) and packet ids.</summary>
    public const long WillAndIdsReserve = 68 * 1024;

    /// <summary>The least a session's record must leave its subscriptions, where the storage bounds one record.</summary>
    public const long MinimumSubscriptionBytes = 64 * 1024;

    /// <summary>What the session's record takes to name one message it holds (its sequence number, packet id, a flag).</summary>
    public const long RecordBytesPerMessage = 16;

    /// <summary>
    /// The bytes a persistent session's subscriptions may take in its record, where the storage bounds one
    /// (<see cref="StorageRecordLimit"/>): what naming its messages and keeping its will leave; null where there is no
    /// such bound.
    /// </summary>
    public long? SubscriptionByteLimit(bool persistent) =>
        persistent && StorageRecordLimit is { } record ? record - WillAndIdsReserve - (RecordBytesPerMessage * (MaxQueuedMessages + MaxInflightMessages)) : null;

    /// <summary>The bound in effect: <see cref="MaxSessionBytes"/>, or the default.</summary>
    public long SessionByteLimit => MaxSessionBytes ?? DefaultMaxSessionBytes;

    internal string? StorageRecordError =>
        StorageRecordLimit is { } record && SubscriptionByteLimit(persistent: true) < MinimumSubscriptionBytes
            ? $"Mqtt:Sessions:MaxQueuedMessages ({MaxQueuedMessages}) and Mqtt:Sessions:MaxInflightMessages ({MaxInflightMessages}) together are more messages than a session's record names on Azure Table storage (Orleans:Persistence=AzureTable): the record is one entity of at most {record} bytes, which takes {RecordBytesPerMessage} bytes per message held besides the will and the subscriptions. Keep the two at {(record - WillAndIdsReserve - MinimumSubscriptionBytes) / RecordBytesPerMessage} or less together, or use Orleans:Persistence=AzureBlob."
            : null;

    /// <summary>
    /// What to drop when the queue is full (by count or by bytes): the incoming message (as mosquitto does) or the
    /// oldest queued ones.
    /// </summary>
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
