namespace OrleansMqtt.Protocol;

/// <summary>CONNECT (3.1).</summary>
public sealed class ConnectPacket
{
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V311;

    /// <summary>May be empty: the server then assigns one (v5, or v3 with clean session) or rejects it.</summary>
    public string ClientId { get; init; } = "";

    /// <summary>Clean Session (v3) or Clean Start (v5).</summary>
    public bool CleanStart { get; init; } = true;
    public ushort KeepAliveSeconds { get; init; }
    public string? UserName { get; init; }
    public byte[]? Password { get; init; }
    public WillMessage? Will { get; init; }

    // v5 properties (3.1.2.11); defaults are what absence means.
    public uint SessionExpiryInterval { get; init; }
    public ushort ReceiveMaximum { get; init; } = ushort.MaxValue;

    /// <summary>Null: no limit beyond the protocol's.</summary>
    public uint? MaximumPacketSize { get; init; }
    public ushort TopicAliasMaximum { get; init; }
    public bool RequestResponseInformation { get; init; }
    public bool RequestProblemInformation { get; init; } = true;
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }
    public string? AuthenticationMethod { get; init; }
    public byte[]? AuthenticationData { get; init; }
}

/// <summary>The will in CONNECT (3.1.3.2 to 3.1.3.4).</summary>
public sealed class WillMessage
{
    public required string Topic { get; init; }
    public ReadOnlyMemory<byte> Payload { get; init; }
    public QualityOfService Qos { get; init; }
    public bool Retain { get; init; }

    /// <summary>v5 only, will delay included.</summary>
    public PublishProperties? Properties { get; init; }
}
