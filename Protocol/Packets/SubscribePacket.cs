namespace OrleansMqtt.Protocol;

/// <summary>SUBSCRIBE (3.8).</summary>
public sealed class SubscribePacket
{
    public ushort PacketId { get; init; }
    public required IReadOnlyList<TopicSubscription> Subscriptions { get; init; }

    /// <summary>v5: 1 to 268,435,455; null when absent.</summary>
    public uint? SubscriptionIdentifier { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}

/// <summary>One topic filter and its subscription options (3.8.3.1).</summary>
public readonly record struct TopicSubscription(
    string Filter,
    QualityOfService MaximumQos,
    bool NoLocal = false,
    bool RetainAsPublished = false,
    RetainHandling RetainHandling = RetainHandling.SendAtSubscribe);

public enum RetainHandling : byte
{
    SendAtSubscribe = 0,
    SendAtSubscribeIfNew = 1,
    DoNotSend = 2,
}
