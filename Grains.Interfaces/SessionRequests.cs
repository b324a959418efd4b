namespace OrleansMqtt.Grains;

/// <summary>What the gateway tells the session about a new connection (from CONNECT).</summary>
[GenerateSerializer, Immutable, Alias("mqtt.ConnectRequest")]
public sealed record ConnectRequest(
    [property: Id(0)] ConnectionRef Connection,
    [property: Id(1)] byte ProtocolVersion,
    [property: Id(2)] bool CleanStart,
    [property: Id(3)] uint SessionExpiryInterval,
    [property: Id(4)] WillSpec? Will,
    [property: Id(5)] ushort ReceiveMaximum,
    [property: Id(6)] string? UserName = null);

/// <summary>The will message and its v5 delay in seconds.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.WillSpec")]
public sealed record WillSpec([property: Id(0)] MqttMessage Message, [property: Id(1)] uint DelaySeconds);

/// <summary>
/// CONNACK's session-present flag, and what the gateway writes right after CONNACK: unacknowledged messages
/// (DUP set) and PUBRELs first, then the offline queue, in order [MQTT-4.4.0-1]. <see cref="Host"/> is the silo that
/// holds a session kept in memory only (expiry 0): if that silo dies, so does the session, and the gateway closes
/// the connection. Null for a session kept in storage.
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.ConnectResult")]
public sealed record ConnectResult(
    [property: Id(0)] bool SessionPresent,
    [property: Id(1)] Delivery[] Pending,
    [property: Id(2)] uint SessionExpiryInterval,
    [property: Id(3)] SiloAddress? Host = null);

[GenerateSerializer, Alias("mqtt.DisconnectKind")]
public enum DisconnectKind : byte
{
    /// <summary>DISCONNECT from the client: the will is discarded [MQTT-3.14.4-3].</summary>
    Normal = 0,

    /// <summary>v5 DISCONNECT with reason 0x04: keep the will and publish it.</summary>
    NormalWithWill = 1,

    /// <summary>Socket error, keep-alive expiry, protocol error, server close: the will is published.</summary>
    Abnormal = 2,
}

/// <summary>One topic filter of SUBSCRIBE with its options.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.SubscriptionRequest")]
public sealed record SubscriptionRequest(
    [property: Id(0)] string Filter,
    [property: Id(1)] byte MaximumQos,
    [property: Id(2)] bool NoLocal = false,
    [property: Id(3)] bool RetainAsPublished = false,
    [property: Id(4)] byte RetainHandling = 0);

/// <summary>SUBACK's reason codes, and the retained messages to write after SUBACK.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.SubscribeResult")]
public sealed record SubscribeResult([property: Id(0)] byte[] ReasonCodes, [property: Id(1)] Delivery[] Retained);

/// <summary>An inbound QoS 2 PUBLISH: its packet id and the message.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.ExactlyOncePublish")]
public readonly record struct ExactlyOncePublish(
    [property: Id(0)] ushort PacketId,
    [property: Id(1)] MqttMessage Message);

/// <summary>An acknowledgement from the client for a message the session sent: PUBACK, PUBREC or PUBCOMP.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.ClientAck")]
public readonly record struct ClientAck(
    [property: Id(0)] byte PacketType,
    [property: Id(1)] ushort PacketId,
    [property: Id(2)] byte ReasonCode = 0);

/// <summary>What a session holds, for operators and tests.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.SessionInfo")]
public sealed record SessionInfo(
    [property: Id(0)] bool Exists,
    [property: Id(1)] bool Connected,
    [property: Id(2)] string? GatewayId,
    [property: Id(3)] string[] Subscriptions,
    [property: Id(4)] int InFlight,
    [property: Id(5)] int Queued,
    [property: Id(6)] long Dropped,
    [property: Id(7)] uint SessionExpiryInterval,
    [property: Id(8)] long HeldBytes = 0);
