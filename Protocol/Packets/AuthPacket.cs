namespace OrleansMqtt.Protocol;

/// <summary>AUTH (3.15), v5 only.</summary>
public sealed class AuthPacket
{
    public ReasonCode ReasonCode { get; init; } = ReasonCode.Success;
    public string? AuthenticationMethod { get; init; }
    public byte[]? AuthenticationData { get; init; }
    public string? ReasonString { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
}
