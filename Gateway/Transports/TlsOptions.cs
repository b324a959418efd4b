using System.ComponentModel.DataAnnotations;
using System.Net;

namespace OrleansMqtt.Gateway;

/// <summary>
/// MQTT over TLS (section <c>Mqtt:Tls</c>), and the certificate the HTTP listener uses when <c>Mqtt:Http:Tls</c> is
/// on (wss). The certificate file is read again when it changes: new connections get the new certificate.
/// </summary>
public sealed class TlsOptions : IValidatableObject
{
    public const string Section = "Mqtt:Tls";

    /// <summary>Listen for MQTT over TLS on <see cref="Address"/>:<see cref="Port"/>.</summary>
    public bool Enabled { get; set; }

    public string Address { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port.</summary>
    public int Port { get; set; } = 8883;

    /// <summary>The server certificate: a PFX (PKCS#12) file, or a PEM file (with its key, or the key in <see cref="KeyPath"/>).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file, or of an encrypted PEM key.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>The PEM private key, when it is not in <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Whether clients present certificates: <c>None</c>, <c>Allow</c> (checked when given) or <c>Require</c> (mTLS).</summary>
    public ClientCertificateRequirement ClientCertificateMode { get; set; } = ClientCertificateRequirement.None;

    /// <summary>PEM file of the CA certificates client certificates must chain to; unset: the system's trusted roots.</summary>
    public string? ClientCaPath { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Enabled && !IPAddress.TryParse(Address, out _))
        {
            yield return new ValidationResult($"Mqtt:Tls:Address '{Address}' is not an IP address.", [nameof(Address)]);
        }

        if (Port is < 0 or > 65535)
        {
            yield return new ValidationResult($"Mqtt:Tls:Port {Port} is not a port number.", [nameof(Port)]);
        }

        if (Enabled && CertificatePath is not { Length: > 0 })
        {
            yield return new ValidationResult("Mqtt:Tls:CertificatePath is required when Mqtt:Tls:Enabled is true.", [nameof(CertificatePath)]);
        }

        if (CertificatePath is { Length: > 0 } && !File.Exists(CertificatePath))
        {
            yield return new ValidationResult($"Mqtt:Tls:CertificatePath '{CertificatePath}' does not exist.", [nameof(CertificatePath)]);
        }

        if (KeyPath is { Length: > 0 } && !File.Exists(KeyPath))
        {
            yield return new ValidationResult($"Mqtt:Tls:KeyPath '{KeyPath}' does not exist.", [nameof(KeyPath)]);
        }

        if (ClientCaPath is { Length: > 0 } && !File.Exists(ClientCaPath))
        {
            yield return new ValidationResult($"Mqtt:Tls:ClientCaPath '{ClientCaPath}' does not exist.", [nameof(ClientCaPath)]);
        }
    }
}

public enum ClientCertificateRequirement
{
    None,
    Allow,
    Require,
}

/// <summary>MQTT over WebSocket (section <c>Mqtt:WebSocket</c>), served on the HTTP listener (<c>Mqtt:Http</c>).</summary>
public sealed class WebSocketOptions
{
    public const string Section = "Mqtt:WebSocket";

    /// <summary>On by default: it takes effect only where the HTTP listener is on.</summary>
    public bool Enabled { get; set; } = true;

    public string Path { get; set; } = "/mqtt";
}
