namespace OrleansMqtt.Grains;

/// <summary>What a persistent session keeps between connections (stored only when the session outlives its connection).</summary>
[GenerateSerializer, Alias("mqtt.SessionState")]
public sealed class SessionState
{
    /// <summary>A session exists: CONNACK says session-present on the next connection without clean start.</summary>
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public byte ProtocolVersion { get; set; }

    /// <summary>Seconds the session outlives its connection; <see cref="SessionExpiry.Never"/> for ever.</summary>
    [Id(2)] public uint SessionExpiryInterval { get; set; }
    [Id(3)] public Dictionary<string, StoredSubscription> Subscriptions { get; set; } = [];

    /// <summary>QoS 1/2 messages sent and not yet acknowledged, in the order they were sent.</summary>
    [Id(4)] public List<InFlightMessage> InFlight { get; set; } = [];

    /// <summary>Messages waiting for the client to connect or for the in-flight window to open.</summary>
    [Id(5)] public List<QueuedMessage> Queue { get; set; } = [];

    /// <summary>Inbound QoS 2 packet ids published and awaiting PUBREL.</summary>
    [Id(6)] public HashSet<ushort> AwaitingRelease { get; set; } = [];
    [Id(7)] public ushort LastPacketId { get; set; }
    [Id(8)] public WillSpec? Will { get; set; }
    [Id(9)] public long DroppedMessages { get; set; }
    [Id(10)] public ConnectionRef? Connection { get; set; }
    [Id(11)] public DateTime? DisconnectedAtUtc { get; set; }

    /// <summary>A will or expiry reminder is registered for this session.</summary>
    [Id(12)] public bool RemindersPending { get; set; }

    /// <summary>
    /// Inbound QoS 2 packet ids being published, with the message id they are published under: stored before the
    /// message is routed, so a resend after a crash is published again under the same id, which subscribers recognise.
    /// </summary>
    [Id(40)] public Dictionary<ushort, long> Publishing { get; set; } = [];

    /// <summary>Ids of the latest exactly-once messages this session took, oldest first (bounded).</summary>
    [Id(41)] public List<long> RecentExactlyOnceIds { get; set; } = [];
}

[GenerateSerializer, Immutable, Alias("mqtt.StoredSubscription")]
public sealed record StoredSubscription(
    [property: Id(0)] byte MaximumQos,
    [property: Id(1)] bool NoLocal,
    [property: Id(2)] bool RetainAsPublished,
    [property: Id(3)] byte RetainHandling,
    [property: Id(4)] uint? SubscriptionIdentifier);

[GenerateSerializer, Alias("mqtt.InFlightMessage")]
public sealed class InFlightMessage
{
    [Id(0)] public ushort PacketId { get; set; }
    [Id(1)] public required QueuedMessage Message { get; set; }

    /// <summary>QoS 2: PUBREC received and PUBREL sent; only PUBCOMP is awaited.</summary>
    [Id(2)] public bool Released { get; set; }
}

[GenerateSerializer, Immutable, Alias("mqtt.QueuedMessage")]
public sealed record QueuedMessage(
    [property: Id(0)] MqttMessage Message,
    [property: Id(1)] byte Qos,
    [property: Id(2)] bool Retain,
    [property: Id(3)] uint[]? SubscriptionIds,
    [property: Id(4)] string? SharedVia = null);
