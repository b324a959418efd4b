namespace OrleansMqtt.Grains;

/// <summary>
/// Cluster-wide figures, one grain (key 0): every gateway reports its process counters every few seconds, and the
/// grain adds the silo-side figures (sessions, subscriptions, retained messages), keeps a short history for the
/// dashboard and publishes the <c>$SYS/broker/...</c> topics, once for the whole cluster. It also holds the client
/// ids traced on demand, which gateways learn from the answer to their report.
/// </summary>
[Alias("mqtt.IClusterStatsGrain")]
public interface IClusterStatsGrain : IGrainWithIntegerKey
{
    /// <summary>A gateway's counters (cumulative since its process started); returns the clients to trace.</summary>
    [Alias("Report")]
    Task<TraceRequest[]> Report(GatewayReport report);

    [Alias("GetStats")]
    Task<ClusterStats> GetStats();

    /// <summary>Logs every packet of <paramref name="clientId"/> at Information level until <paramref name="untilUtc"/>.</summary>
    [Alias("Trace")]
    Task Trace(string clientId, DateTime untilUtc);
}

[GenerateSerializer, Immutable, Alias("mqtt.GatewayReport")]
public sealed record GatewayReport(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] string Host,
    [property: Id(2)] DateTime StartedUtc,
    [property: Id(3)] long Connections,
    [property: Id(4)] long ConnectionsOpened,
    [property: Id(5)] long MessagesReceived,
    [property: Id(6)] long MessagesSent,
    [property: Id(7)] long BytesReceived,
    [property: Id(8)] long BytesSent,
    [property: Id(9)] long MessagesDropped,
    [property: Id(10)] TopicCount[] TopTopics);

/// <summary>Messages published to a topic (since the last report, or over the dashboard's window).</summary>
[GenerateSerializer, Immutable, Alias("mqtt.TopicCount")]
public sealed record TopicCount([property: Id(0)] string Topic, [property: Id(1)] long Count);

[GenerateSerializer, Immutable, Alias("mqtt.TraceRequest")]
public sealed record TraceRequest([property: Id(0)] string ClientId, [property: Id(1)] DateTime UntilUtc);

/// <summary>One gateway as last reported.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.GatewayStatus")]
public sealed record GatewayStatus(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] string Host,
    [property: Id(2)] DateTime LastReportUtc,
    [property: Id(3)] long Connections,
    [property: Id(4)] long MessagesReceived,
    [property: Id(5)] long MessagesSent);

/// <summary>The cluster's totals at one moment, for the dashboard's charts.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.StatsSample")]
public sealed record StatsSample(
    [property: Id(0)] DateTime Utc,
    [property: Id(1)] long Connections,
    [property: Id(2)] long MessagesReceived,
    [property: Id(3)] long MessagesSent);

/// <summary>Cluster-wide figures; message and byte totals count since the oldest reporting gateway started.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.ClusterStats")]
public sealed record ClusterStats(
    [property: Id(0)] DateTime TakenUtc,
    [property: Id(1)] DateTime StartedUtc,
    [property: Id(2)] long ClientsConnected,
    [property: Id(3)] long ClientsMaximum,
    [property: Id(4)] long SessionsOffline,
    [property: Id(5)] long Subscriptions,
    [property: Id(6)] long RetainedMessages,
    [property: Id(7)] long ConnectionsOpened,
    [property: Id(8)] long MessagesReceived,
    [property: Id(9)] long MessagesSent,
    [property: Id(10)] long BytesReceived,
    [property: Id(11)] long BytesSent,
    [property: Id(12)] long MessagesDropped,
    [property: Id(13)] GatewayStatus[] Gateways,
    [property: Id(14)] StatsSample[] History,
    [property: Id(15)] TopicCount[] TopTopics);
