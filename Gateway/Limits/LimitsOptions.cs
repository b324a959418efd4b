using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Gateway;

/// <summary>
/// What one gateway lets a client (or a flood of them) take (section <c>Mqtt:Limits</c>; environment
/// <c>Mqtt__Limits__...</c>). A rate or count of 0 turns that limit off. Every hit is counted in the metric
/// <c>mqtt.limit.hits</c> under its <see cref="LimitNames">name</see>. The limits that existed before this section
/// stay where they were: <c>Mqtt:MaxPacketSize</c>, <c>Mqtt:ConnectTimeout</c>, <c>Mqtt:ReceiveMaximum</c>,
/// <c>Mqtt:MaxOutboundMessages</c>.
/// </summary>
public sealed class LimitsOptions : IValidatableObject
{
    public const string Section = "Mqtt:Limits";

    /// <summary>Open connections on this gateway (CONNECT not yet sent included); a CONNECT beyond it is refused as Server Busy.</summary>
    [Range(0, int.MaxValue, ErrorMessage = "Mqtt:Limits:MaxConnections must be between {1} and {2}.")]
    public int MaxConnections { get; set; } = 100_000;

    /// <summary>CONNECT packets per second this gateway accepts, on average (a token bucket of <see cref="ConnectBurst"/>).</summary>
    [Range(0, 1_000_000, ErrorMessage = "Mqtt:Limits:ConnectRate must be between {1} and {2}.")]
    public int ConnectRate { get; set; } = 2_000;

    /// <summary>CONNECT packets this gateway accepts at once after a quiet period.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Mqtt:Limits:ConnectBurst must be between {1} and {2}.")]
    public int ConnectBurst { get; set; } = 10_000;

    /// <summary>CONNECT packets per second from one source IP address, on average.</summary>
    [Range(0, 1_000_000, ErrorMessage = "Mqtt:Limits:ConnectRatePerSourceIp must be between {1} and {2}.")]
    public int ConnectRatePerSourceIp { get; set; } = 200;

    /// <summary>CONNECT packets one source IP address may send at once after a quiet period.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Mqtt:Limits:ConnectBurstPerSourceIp must be between {1} and {2}.")]
    public int ConnectBurstPerSourceIp { get; set; } = 1_000;

    /// <summary>Bytes of messages waiting to be written to one client; a client further behind is disconnected (v5: 0x97).</summary>
    [Range(1024, long.MaxValue, ErrorMessage = "Mqtt:Limits:MaxOutboundBytes must be between {1} and {2}.")]
    public long MaxOutboundBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>PUBLISH packets per second one client may send, on average (a token bucket of <see cref="PublishBurst"/>).</summary>
    [Range(0, 10_000_000, ErrorMessage = "Mqtt:Limits:PublishRate must be between {1} and {2}.")]
    public int PublishRate { get; set; } = 1_000;

    /// <summary>PUBLISH packets one client may send at once after a quiet period.</summary>
    [Range(1, 100_000_000, ErrorMessage = "Mqtt:Limits:PublishBurst must be between {1} and {2}.")]
    public int PublishBurst { get; set; } = 10_000;

    /// <summary>Subscriptions one session may hold; a topic filter beyond it is refused in SUBACK (v5: 0x97, v3: 0x80).</summary>
    [Range(0, int.MaxValue, ErrorMessage = "Mqtt:Limits:MaxSubscriptionsPerClient must be between {1} and {2}.")]
    public int MaxSubscriptionsPerClient { get; set; } = 1_000;

    /// <summary>Longest topic name or topic filter, in UTF-8 bytes (the protocol allows 65,535).</summary>
    [Range(1, 65_535, ErrorMessage = "Mqtt:Limits:MaxTopicLength must be between {1} and {2}.")]
    public int MaxTopicLength { get; set; } = 1_024;

    /// <summary>Most levels (parts between '/') in a topic name or topic filter.</summary>
    [Range(1, 65_535, ErrorMessage = "Mqtt:Limits:MaxTopicLevels must be between {1} and {2}.")]
    public int MaxTopicLevels { get; set; } = 32;

    /// <summary>
    /// Largest packet a connection may send before its CONNECT is accepted (CONNECT and AUTH), in bytes; above it the
    /// connection is closed before the body is buffered. Bounds what an unauthenticated socket can
    /// make a gateway hold; <c>Mqtt:MaxPacketSize</c> applies once connected.
    /// </summary>
    [Range(1024, 268_435_455, ErrorMessage = "Mqtt:Limits:MaxConnectPacketSize must be between {1} and {2}.")]
    public int MaxConnectPacketSize { get; set; } = 64 * 1024;

    /// <summary>How often a limit that keeps being hit is logged again (with the number of hits meanwhile).</summary>
    public TimeSpan LogInterval { get; set; } = TimeSpan.FromMinutes(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConnectRate > 0 && ConnectBurst < 1)
        {
            yield return new ValidationResult("Mqtt:Limits:ConnectBurst must be at least 1.", [nameof(ConnectBurst)]);
        }

        if (LogInterval <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:Limits:LogInterval must be positive.", [nameof(LogInterval)]);
        }
    }
}

/// <summary>The values of the <c>limit</c> tag of <c>mqtt.limit.hits</c>, one per limit.</summary>
public static class LimitNames
{
    public const string Connections = "connections";
    public const string OpenFiles = "open_files";
    public const string ConnectRate = "connect_rate";
    public const string ConnectRatePerSourceIp = "connect_rate_per_ip";
    public const string ConnectTimeout = "connect_timeout";
    public const string PacketSize = "packet_size";
    public const string Inflight = "inflight";
    public const string OutboundMessages = "outbound_messages";
    public const string OutboundBytes = "outbound_bytes";
    public const string PublishRate = "publish_rate";
    public const string Subscriptions = "subscriptions";
    public const string TopicLength = "topic_length";
    public const string TopicLevels = "topic_levels";
}
