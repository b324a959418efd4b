namespace OrleansMqtt.Protocol;

/// <summary>UNSUBSCRIBE (3.10).</summary>
public sealed class UnsubscribePacket
{
    public ushort PacketId { get; init; }
    public required IReadOnlyList<string> Filters { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}

/// <summary>UNSUBACK (3.11). v3 has no payload; v5 has one reason code per filter.</summary>
public sealed class UnsubAckPacket
{
    public ushort PacketId { get; init; }

    /// <summary>v5 only (Success or NoSubscriptionExisted, ...); ignored for v3.</summary>
    public IReadOnlyList<ReasonCode> ReasonCodes { get; init; } = [];
    public string? ReasonString { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}
