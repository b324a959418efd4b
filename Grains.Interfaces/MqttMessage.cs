namespace OrleansMqtt.Grains;

/// <summary>
/// An application message as it travels between grains and gateways. Immutable, so Orleans passes it by reference
/// inside a silo instead of deep-copying the payload for every subscriber.
/// </summary>
/// <remarks>
/// <see cref="PublishedAtTicks"/>: when a gateway received it (UTC ticks), for the publish-to-deliver latency.
/// Serialized by <see cref="MqttMessageCodec"/>, which holds the field ids: a new parameter here is written only once
/// it is added there (<c>StorageFormatTests</c> fails until then).
/// </remarks>
[Immutable, Alias("mqtt.MqttMessage")]
public sealed record MqttMessage(
    string Topic,
    ReadOnlyMemory<byte> Payload,
    byte Qos,
    bool Retain,
    MessageProperties? Properties = null,
    string? PublisherId = null,
    DateTime? ExpiresAtUtc = null,
    long ExactlyOnceId = 0,
    long PublishedAtTicks = 0)
{
    /// <summary>Empty payload on a retained publish clears the retained message [MQTT-3.3.1-10].</summary>
    public bool ClearsRetained => Retain && Payload.IsEmpty;

    /// <summary>Past its Message Expiry Interval: it must not be delivered any more (3.3.2.3.3).</summary>
    public bool IsExpired(DateTime nowUtc) => ExpiresAtUtc is { } expires && expires <= nowUtc;
}

/// <summary>The v5 properties that are forwarded with a message (3.3.2.3), untouched and in order.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.MessageProperties")]
public sealed record MessageProperties(
    [property: Id(0)] byte? PayloadFormatIndicator = null,
    [property: Id(1)] uint? MessageExpiryInterval = null,
    [property: Id(2)] string? ResponseTopic = null,
    [property: Id(3)] byte[]? CorrelationData = null,
    [property: Id(4)] UserPropertyPair[]? UserProperties = null,
    [property: Id(5)] string? ContentType = null);

[GenerateSerializer, Immutable, Alias("mqtt.UserPropertyPair")]
public readonly record struct UserPropertyPair([property: Id(0)] string Name, [property: Id(1)] string Value);
