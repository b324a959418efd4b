namespace OrleansMqtt.Protocol;

/// <summary>DISCONNECT (3.14). v3 has no variable header; v5 may carry a reason and properties.</summary>
public sealed class DisconnectPacket
{
    public static readonly DisconnectPacket Normal = new();

    public ReasonCode ReasonCode { get; init; } = ReasonCode.NormalDisconnection;
    public uint? SessionExpiryInterval { get; init; }
    public string? ReasonString { get; init; }
    public string? ServerReference { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}
