namespace OrleansMqtt.Grains;

/// <summary>
/// One message for one connection on a gateway, with what the gateway writes in the PUBLISH header:
/// the granted QoS, the packet id the session assigned (0 for QoS 0), DUP, the retain flag to send and the
/// v5 subscription identifiers that matched.
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.Delivery")]
public sealed record Delivery(
    [property: Id(0)] long ConnectionId,
    [property: Id(1)] MqttMessage Message,
    [property: Id(2)] byte Qos,
    [property: Id(3)] ushort PacketId,
    [property: Id(4)] bool Dup,
    [property: Id(5)] bool Retain,
    [property: Id(6)] uint[]? SubscriptionIds = null,
    [property: Id(7)] bool IsRelease = false);

/// <summary>
/// A message routed to one session by a topic grain: the QoS and retain flag the session's subscriptions grant it,
/// and the identifiers of those subscriptions. A topic grain sends a session all of a batch's messages in one call.
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.RoutedMessage")]
public readonly record struct RoutedMessage(
    [property: Id(0)] MqttMessage Message,
    [property: Id(1)] byte Qos,
    [property: Id(2)] bool Retain,
    [property: Id(3)] uint[]? SubscriptionIds);
