namespace OrleansMqtt.Protocol;

/// <summary>The v5 properties of PUBLISH (3.3.2.3) and of the will (3.1.3.2). Absent means null or empty.</summary>
public sealed class PublishProperties
{
    public byte? PayloadFormatIndicator { get; init; }
    public uint? MessageExpiryInterval { get; init; }
    public ushort? TopicAlias { get; init; }
    public string? ResponseTopic { get; init; }
    public byte[]? CorrelationData { get; init; }
    public IReadOnlyList<UserProperty>? UserProperties { get; init; }

    /// <summary>Server to client only; a client must not send it (protocol error).</summary>
    public IReadOnlyList<uint>? SubscriptionIdentifiers { get; init; }

    public string? ContentType { get; init; }

    /// <summary>Will properties only (3.1.3.2.2).</summary>
    public uint? WillDelayInterval { get; init; }

    public bool IsEmpty =>
        PayloadFormatIndicator is null && MessageExpiryInterval is null && TopicAlias is null && ResponseTopic is null &&
        CorrelationData is null && (UserProperties is null || UserProperties.Count == 0) &&
        (SubscriptionIdentifiers is null || SubscriptionIdentifiers.Count == 0) && ContentType is null && WillDelayInterval is null;
}
