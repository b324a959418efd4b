namespace OrleansMqtt.Grains;

/// <summary>
/// What a persistent session keeps between connections (stored only when the session outlives its connection).
/// Its collections are created when first used, so that a connected session with nothing subscribed, queued or in
/// flight holds none; the counts read them without creating them. Stored, they are written as before (empty).
/// </summary>
[GenerateSerializer, Alias("mqtt.SessionState")]
public sealed class SessionState
{
    // Stored through the properties below; the fields themselves are not.
    [NonSerialized] private Dictionary<string, StoredSubscription>? _subscriptions;
    [NonSerialized] private List<InFlightMessage>? _inFlight;
    [NonSerialized] private List<QueuedMessage>? _queue;
    [NonSerialized] private HashSet<ushort>? _awaitingRelease;
    [NonSerialized] private Dictionary<ushort, long>? _publishing;
    [NonSerialized] private List<long>? _recentExactlyOnceIds;

    /// <summary>A session exists: CONNACK says session-present on the next connection without clean start.</summary>
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public byte ProtocolVersion { get; set; }

    /// <summary>Seconds the session outlives its connection; <see cref="SessionExpiry.Never"/> for ever.</summary>
    [Id(2)] public uint SessionExpiryInterval { get; set; }
    [Id(3)] public Dictionary<string, StoredSubscription> Subscriptions { get => _subscriptions ??= []; set => _subscriptions = value; }

    /// <summary>QoS 1/2 messages sent and not yet acknowledged, in the order they were sent.</summary>
    [Id(4)] public List<InFlightMessage> InFlight { get => _inFlight ??= []; set => _inFlight = value; }

    /// <summary>Messages waiting for the client to connect or for the in-flight window to open.</summary>
    [Id(5)] public List<QueuedMessage> Queue { get => _queue ??= []; set => _queue = value; }

    /// <summary>Inbound QoS 2 packet ids published and awaiting PUBREL.</summary>
    [Id(6)] public HashSet<ushort> AwaitingRelease { get => _awaitingRelease ??= []; set => _awaitingRelease = value; }
    [Id(7)] public ushort LastPacketId { get; set; }
    [Id(8)] public WillSpec? Will { get; set; }
    [Id(9)] public long DroppedMessages { get; set; }
    [Id(10)] public ConnectionRef? Connection { get; set; }
    [Id(11)] public DateTime? DisconnectedAtUtc { get; set; }

    /// <summary>A will or expiry reminder is registered for this session.</summary>
    [Id(12)] public bool RemindersPending { get; set; }

    /// <summary>
    /// Written only when a quiet session's activation is collected while its client stays connected: this state is
    /// then exact and the connection open, so the next activation carries on with it. Cleared in memory by that
    /// activation, and in storage by its next write.
    /// </summary>
    [Id(13)] public bool Parked { get; set; }

    /// <summary>While parked: the in-flight window agreed at CONNECT.</summary>
    [Id(14)] public int ReceiveMaximum { get; set; }

    /// <summary>While parked: the connection taken over whose will waits for its gateway to say how it ended.</summary>
    [Id(15)] public long TakenOverConnectionId { get; set; }

    /// <summary>While parked: that connection's will.</summary>
    [Id(16)] public WillSpec? TakenOverWill { get; set; }

    /// <summary>
    /// Inbound QoS 2 packet ids being published, with the message id they are published under: stored before the
    /// message is routed, so a resend after a crash is published again under the same id, which subscribers recognise.
    /// </summary>
    [Id(40)] public Dictionary<ushort, long> Publishing { get => _publishing ??= []; set => _publishing = value; }

    /// <summary>Ids of the latest exactly-once messages this session took, oldest first (bounded).</summary>
    [Id(41)] public List<long> RecentExactlyOnceIds { get => _recentExactlyOnceIds ??= []; set => _recentExactlyOnceIds = value; }

    public int SubscriptionCount => _subscriptions?.Count ?? 0;

    public int InFlightCount => _inFlight?.Count ?? 0;

    public int QueueCount => _queue?.Count ?? 0;
}

[GenerateSerializer, Immutable, Alias("mqtt.StoredSubscription")]
public sealed record StoredSubscription(
    [property: Id(0)] byte MaximumQos,
    [property: Id(1)] bool NoLocal,
    [property: Id(2)] bool RetainAsPublished,
    [property: Id(3)] byte RetainHandling,
    [property: Id(4)] uint? SubscriptionIdentifier);

[GenerateSerializer, SuppressReferenceTracking, Alias("mqtt.InFlightMessage")]
public sealed class InFlightMessage
{
    [Id(0)] public ushort PacketId { get; set; }
    [Id(1)] public required QueuedMessage Message { get; set; }

    /// <summary>QoS 2: PUBREC received and PUBREL sent; only PUBCOMP is awaited.</summary>
    [Id(2)] public bool Released { get; set; }
}

[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("mqtt.QueuedMessage")]
public sealed record QueuedMessage(
    [property: Id(0)] MqttMessage Message,
    [property: Id(1)] byte Qos,
    [property: Id(2)] bool Retain,
    [property: Id(3)] uint[]? SubscriptionIds,
    [property: Id(4)] string? SharedVia = null);
