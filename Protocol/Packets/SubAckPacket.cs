namespace OrleansMqtt.Protocol;

/// <summary>
/// SUBACK (3.9). One reason code per filter: GrantedQoS0..2 or a failure (v3 writes any failure as 0x80).
/// </summary>
public sealed class SubAckPacket
{
    public ushort PacketId { get; init; }
    public required IReadOnlyList<ReasonCode> ReasonCodes { get; init; }
    public string? ReasonString { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}
