namespace OrleansMqtt.Protocol;

/// <summary>
/// CONNACK (3.2). For v3 the encoder maps <see cref="ReasonCode"/> to a return code
/// (0 accepted, 1 bad protocol version, 2 identifier rejected, 3 server unavailable, 4 bad user name or password,
/// 5 not authorized) and drops the properties. Other refusals map to the nearest: BadAuthenticationMethod to 4,
/// Banned to 5, anything else to 3. Session Present is written only with Success ([MQTT-3.2.2-6]).
/// </summary>
public sealed class ConnAckPacket
{
    public bool SessionPresent { get; init; }
    public ReasonCode ReasonCode { get; init; }

    // v5 properties (3.2.2.3); null means absent.
    public uint? SessionExpiryInterval { get; init; }
    public ushort? ReceiveMaximum { get; init; }
    public QualityOfService? MaximumQos { get; init; }
    public bool? RetainAvailable { get; init; }
    public uint? MaximumPacketSize { get; init; }
    public string? AssignedClientIdentifier { get; init; }
    public ushort? TopicAliasMaximum { get; init; }
    public string? ReasonString { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
    public bool? WildcardSubscriptionAvailable { get; init; }
    public bool? SubscriptionIdentifiersAvailable { get; init; }
    public bool? SharedSubscriptionAvailable { get; init; }
    public ushort? ServerKeepAlive { get; init; }
    public string? ResponseInformation { get; init; }
    public string? ServerReference { get; init; }
    public string? AuthenticationMethod { get; init; }
    public byte[]? AuthenticationData { get; init; }
}
