using System.ComponentModel.DataAnnotations;
using System.Net;

namespace OrleansMqtt.Gateway;

/// <summary>Settings of the MQTT listeners and connections (section <c>Mqtt</c>; environment <c>Mqtt__...</c>).</summary>
public sealed class GatewayOptions : IValidatableObject
{
    public const string Section = "Mqtt";

    public TcpListenerOptions Tcp { get; set; } = new();

    /// <summary>
    /// The HTTP listener: health endpoints for container probes (<c>/healthz</c>, <c>/readyz</c>), <c>/metrics</c>, and
    /// the admin API and dashboard when <c>Mqtt:Admin:Token</c> is set.
    /// </summary>
    public HttpListenerOptions Http { get; set; } = new();

    /// <summary>Largest packet accepted from a client, in bytes; announced to v5 clients as Maximum Packet Size.</summary>
    [Range(64, 268_435_460)]
    public int MaxPacketSize { get; set; } = 1024 * 1024;

    /// <summary>Time a new connection has to send CONNECT before it is closed.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the gateway checks every connection for keep-alive and CONNECT timeouts.</summary>
    public TimeSpan KeepAliveSweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Unacknowledged inbound QoS 2 messages one client may have open; announced as v5 Receive Maximum.</summary>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 100;

    /// <summary>Messages waiting to be written to one client; a client that falls further behind is disconnected.</summary>
    [Range(1, 10_000_000)]
    public int MaxOutboundMessages { get; set; } = 10_000;

    /// <summary>How long shutdown waits for connections to close and their sessions to hear of it.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Topic aliases a v5 client may set towards the broker; announced as Topic Alias Maximum (0 turns them off).</summary>
    [Range(0, 65535)]
    public int TopicAliasMaximum { get; set; } = 100;

    /// <summary>The longest session expiry granted, in seconds; a longer request is cut and CONNACK says so (v5).</summary>
    public uint MaximumSessionExpiryInterval { get; set; } = uint.MaxValue;

    /// <summary>When set, v5 clients keep alive at most this often, whatever they ask (CONNACK Server Keep Alive).</summary>
    [Range(0, 65535)]
    public int? ServerKeepAlive { get; set; }

    /// <summary>
    /// When set, a v5 client that asks for Response Information gets this prefix followed by its client id, a topic
    /// tree it may use for responses (CONNACK Response Information).
    /// </summary>
    public string? ResponseInformationPrefix { get; set; }

    /// <summary>Answer every CONNECT with "use another server" (for draining a gateway).</summary>
    public RedirectOptions Redirect { get; set; } = new();

    /// <summary>
    /// At shutdown, v5 clients are told to use this server (DISCONNECT 0x9C with Server Reference) instead of
    /// "server shutting down" (0x8B).
    /// </summary>
    public string? ServerReference { get; set; }

    /// <summary>
    /// How long a message the cluster did not take (silo lost, cluster unreachable) is tried again, in order, before
    /// the connection is closed unacknowledged so that the client resends it.
    /// </summary>
    public TimeSpan PublishRetryTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Giving memory back to the system when the broker goes quiet (see <see cref="MemoryTrim"/>).</summary>
    public MemoryOptions Memory { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Tcp.Enabled && !IPAddress.TryParse(Tcp.Address, out _))
        {
            yield return new ValidationResult($"Mqtt:Tcp:Address '{Tcp.Address}' is not an IP address.", [nameof(Tcp)]);
        }

        if (Tcp.Port is < 0 or > 65535)
        {
            yield return new ValidationResult($"Mqtt:Tcp:Port {Tcp.Port} is not a port number.", [nameof(Tcp)]);
        }

        if (Http.Enabled && !IPAddress.TryParse(Http.Address, out _))
        {
            yield return new ValidationResult($"Mqtt:Http:Address '{Http.Address}' is not an IP address.", [nameof(Http)]);
        }

        if (Http.Port is < 0 or > 65535)
        {
            yield return new ValidationResult($"Mqtt:Http:Port {Http.Port} is not a port number.", [nameof(Http)]);
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:ConnectTimeout must be positive.", [nameof(ConnectTimeout)]);
        }

        if (KeepAliveSweepInterval <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:KeepAliveSweepInterval must be positive.", [nameof(KeepAliveSweepInterval)]);
        }

        if (PublishRetryTimeout < TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:PublishRetryTimeout must not be negative.", [nameof(PublishRetryTimeout)]);
        }

        if (Memory.TrimAfterQuiet < TimeSpan.Zero || (Memory.TrimAfterQuiet > TimeSpan.Zero && Memory.TrimAfterQuiet < TimeSpan.FromSeconds(1)))
        {
            yield return new ValidationResult("Mqtt:Memory:TrimAfterQuiet must be 0 (never) or at least 00:00:01.", [nameof(Memory)]);
        }
    }
}

/// <summary>
/// While <see cref="ServerReference"/> is set, every CONNECT is refused with v5 reason 0x9C (Use Another Server) or,
/// when <see cref="Permanent"/>, 0x9D (Server Moved), with the reference; v3 clients get return code 3.
/// </summary>
public sealed class RedirectOptions
{
    public string? ServerReference { get; set; }

    public bool Permanent { get; set; }
}

public sealed class TcpListenerOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests read it back from the log or the listener).</summary>
    public int Port { get; set; } = 1883;
}

/// <summary>
/// Off by default: tests run many brokers on one machine, and a fixed default port would clash. Container
/// deployments turn it on (infra/ sets <c>Mqtt__Http__Enabled=true</c> on 0.0.0.0).
/// </summary>
public sealed class HttpListenerOptions
{
    public bool Enabled { get; set; }
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Serve HTTPS (and so wss) with the certificate of <c>Mqtt:Tls</c>.</summary>
    public bool Tls { get; set; }
}

public sealed class MemoryOptions
{
    /// <summary>
    /// After the process has been quiet this long (allocating less than 256 KB per second) following a busy spell,
    /// one full, compacting collection gives the memory that spell left behind back to the system; 0 never does.
    /// </summary>
    public TimeSpan TrimAfterQuiet { get; set; } = TimeSpan.FromSeconds(30);
}
