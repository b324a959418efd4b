using System.ComponentModel.DataAnnotations;
using System.Net;

namespace OrleansMqtt.Gateway;

/// <summary>Settings of the MQTT listeners and connections (section <c>Mqtt</c>; environment <c>Mqtt__...</c>).</summary>
public sealed class GatewayOptions : IValidatableObject
{
    public const string Section = "Mqtt";

    public TcpListenerOptions Tcp { get; set; } = new();

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

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:ConnectTimeout must be positive.", [nameof(ConnectTimeout)]);
        }

        if (KeepAliveSweepInterval <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Mqtt:KeepAliveSweepInterval must be positive.", [nameof(KeepAliveSweepInterval)]);
        }
    }
}

public sealed class TcpListenerOptions
{
    public bool Enabled { get; set; } = true;
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests read it back from the log or the listener).</summary>
    public int Port { get; set; } = 1883;
}
