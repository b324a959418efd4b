using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansMqtt.Grains;

/// <summary>
/// The broker's one meter, <c>OrleansMqtt</c>, and the counters of this process. Hot-path figures are plain
/// <see cref="Interlocked"/> adds into static fields, read by observable instruments when metrics are collected:
/// a message costs one or two uncontended atomic adds, never an allocation or a listener callback. The same fields
/// feed the cluster-wide figures ($SYS, dashboard) that gateways report to <see cref="IClusterStatsGrain"/>.
/// </summary>
public static class BrokerMetrics
{
    public const string MeterName = "OrleansMqtt";

    public static readonly Meter Meter = new(MeterName, typeof(BrokerMetrics).Assembly.GetName().Version?.ToString(3));

    /// <summary>When this process started, for uptime.</summary>
    public static readonly DateTime ProcessStartedUtc = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    private static readonly string[] CloseReasonNames = ["client", "network", "keepalive", "taken_over", "shutdown", "admin", "protocol_error", "quota_exceeded", "server_error", "other"];
    private static readonly string[] DropReasonNames = ["expired", "packet_too_large", "queue_full", "slow_consumer"];
    private static readonly KeyValuePair<string, object?>[] QosTags = [new("qos", 0), new("qos", 1), new("qos", 2)];

    private static long _connections;
    private static long _connectionsOpened;
    private static readonly long[] _closed = new long[CloseReasonNames.Length];
    private static readonly long[] _received = new long[3];
    private static readonly long[] _sent = new long[3];
    private static readonly long[] _receivedPayload = new long[3];
    private static readonly long[] _sentPayload = new long[3];
    private static readonly long[] _dropped = new long[DropReasonNames.Length];
    private static long _networkReceived;
    private static long _networkSent;

    /// <summary>Publish (received by a gateway) to delivery (written to the subscriber's socket), in seconds.</summary>
    public static readonly Histogram<double> MessageLatency = Meter.CreateHistogram(
        "mqtt.message.latency", "s", "Time from a PUBLISH received by a gateway to its delivery written to a subscriber",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60] });

    static BrokerMetrics()
    {
        Meter.CreateObservableUpDownCounter("mqtt.connections", () => Volatile.Read(ref _connections), "{connection}", "MQTT connections open on this gateway (CONNACK sent)");
        Meter.CreateObservableCounter("mqtt.connections.opened", () => Volatile.Read(ref _connectionsOpened), "{connection}", "MQTT connections accepted (CONNACK success)");
        Meter.CreateObservableCounter("mqtt.connections.closed", () => Tagged(_closed, "reason", CloseReasonNames), "{connection}", "MQTT connections ended, by reason");
        Meter.CreateObservableCounter("mqtt.messages.received", () => ByQos(_received), "{message}", "PUBLISH packets received from clients, by QoS");
        Meter.CreateObservableCounter("mqtt.messages.sent", () => ByQos(_sent), "{message}", "PUBLISH packets sent to clients, by QoS");
        Meter.CreateObservableCounter("mqtt.payload.received", () => ByQos(_receivedPayload), "By", "Payload bytes of PUBLISH packets received, by QoS");
        Meter.CreateObservableCounter("mqtt.payload.sent", () => ByQos(_sentPayload), "By", "Payload bytes of PUBLISH packets sent, by QoS");
        Meter.CreateObservableCounter("mqtt.network.received", () => Volatile.Read(ref _networkReceived), "By", "Bytes read from MQTT connections");
        Meter.CreateObservableCounter("mqtt.network.sent", () => Volatile.Read(ref _networkSent), "By", "Bytes written to MQTT connections");
        Meter.CreateObservableCounter("mqtt.messages.dropped", () => Tagged(_dropped, "reason", DropReasonNames), "{message}", "Messages not delivered to a subscriber, by reason");
    }

    /// <summary>Creates the instruments (a static constructor runs on first use); call once at start.</summary>
    public static void EnsureCreated() => _ = MessageLatency;

    public static long Connections => Volatile.Read(ref _connections);

    public static long ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    public static long MessagesReceived => Sum(_received);

    public static long MessagesSent => Sum(_sent);

    public static long NetworkReceived => Volatile.Read(ref _networkReceived);

    public static long NetworkSent => Volatile.Read(ref _networkSent);

    public static long Dropped => Sum(_dropped);

    public static void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpened);
        Interlocked.Increment(ref _connections);
    }

    public static void ConnectionClosed(CloseReason reason)
    {
        Interlocked.Decrement(ref _connections);
        Interlocked.Increment(ref _closed[(int)reason]);
    }

    public static void MessageReceived(int qos, int payloadBytes)
    {
        Interlocked.Increment(ref _received[qos % 3]);
        Interlocked.Add(ref _receivedPayload[qos % 3], payloadBytes);
    }

    /// <summary>A delivery written to a subscriber; <paramref name="publishedAtTicks"/> (UTC ticks, 0 if unknown) gives the latency.</summary>
    public static void MessageSent(int qos, int payloadBytes, long publishedAtTicks, long nowTicks)
    {
        Interlocked.Increment(ref _sent[qos % 3]);
        Interlocked.Add(ref _sentPayload[qos % 3], payloadBytes);
        if (publishedAtTicks > 0 && nowTicks >= publishedAtTicks)
        {
            MessageLatency.Record((nowTicks - publishedAtTicks) / (double)TimeSpan.TicksPerSecond);
        }
    }

    public static void BytesReceived(long bytes) => Interlocked.Add(ref _networkReceived, bytes);

    public static void BytesSent(long bytes) => Interlocked.Add(ref _networkSent, bytes);

    public static void MessageDropped(DropReason reason) => Interlocked.Increment(ref _dropped[(int)reason]);

    private static long Sum(long[] values)
    {
        long sum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += Volatile.Read(ref values[i]);
        }

        return sum;
    }

    private static Measurement<long>[] ByQos(long[] values) =>
        [new(Volatile.Read(ref values[0]), QosTags[0]), new(Volatile.Read(ref values[1]), QosTags[1]), new(Volatile.Read(ref values[2]), QosTags[2])];

    private static Measurement<long>[] Tagged(long[] values, string tag, string[] names)
    {
        var measurements = new Measurement<long>[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            measurements[i] = new Measurement<long>(Volatile.Read(ref values[i]), new KeyValuePair<string, object?>(tag, names[i]));
        }

        return measurements;
    }
}

/// <summary>Why a connection ended (tag <c>reason</c> of <c>mqtt.connections.closed</c>).</summary>
public enum CloseReason
{
    /// <summary>The client sent DISCONNECT.</summary>
    Client,

    /// <summary>The socket closed or failed without DISCONNECT.</summary>
    Network,
    KeepAlive,
    TakenOver,
    Shutdown,
    Admin,
    ProtocolError,
    QuotaExceeded,
    ServerError,
    Other,
}

/// <summary>Why a message was not delivered (tag <c>reason</c> of <c>mqtt.messages.dropped</c>).</summary>
public enum DropReason
{
    /// <summary>Its Message Expiry Interval passed before delivery started.</summary>
    Expired,

    /// <summary>Larger than the subscriber's Maximum Packet Size, or than one record of its session's storage.</summary>
    PacketTooLarge,

    /// <summary>An offline or slow persistent session's queue was full.</summary>
    QueueFull,

    /// <summary>Waiting at a gateway for a client that stopped reading, when that client was disconnected (0x97).</summary>
    SlowConsumer,
}
