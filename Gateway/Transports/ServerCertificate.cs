using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The server certificate of <c>Mqtt:Tls</c>, read again when its file changes (each TLS handshake asks for the
/// current one), and the check of client certificates against <c>Mqtt:Tls:ClientCaPath</c>.
/// </summary>
public sealed class ServerCertificate
{
    private readonly TlsOptions _options;
    private readonly ReloadingFile<X509Certificate2> _certificate;
    private readonly X509Certificate2Collection? _clientCas;
    private readonly ILogger _logger;

    public ServerCertificate(IOptions<TlsOptions> options, ILogger<ServerCertificate> logger)
    {
        _options = options.Value;
        _logger = logger;
        var o = _options;
        string[] paths = o.KeyPath is { Length: > 0 } key ? [o.CertificatePath!, key] : [o.CertificatePath!];
        _certificate = new ReloadingFile<X509Certificate2>("TLS certificate", paths, () => Load(o), logger);
        if (o.ClientCaPath is { Length: > 0 } ca)
        {
            _clientCas = [];
            _clientCas.ImportFromPemFile(ca);
        }
    }

    public X509Certificate2 Current => _certificate.Current;

    /// <summary>Kestrel's TLS settings for one listener.</summary>
    public HttpsConnectionAdapterOptions HttpsOptions() => new()
    {
        ServerCertificateSelector = (_, _) => Current,
        ClientCertificateMode = _options.ClientCertificateMode switch
        {
            ClientCertificateRequirement.Allow => ClientCertificateMode.AllowCertificate,
            ClientCertificateRequirement.Require => ClientCertificateMode.RequireCertificate,
            _ => ClientCertificateMode.NoCertificate,
        },
        ClientCertificateValidation = ValidateClientCertificate,
    };

    /// <summary>PFX, or PEM with the key in the same file or in <c>KeyPath</c>; PEM keys may be encrypted.</summary>
    public static X509Certificate2 Load(TlsOptions options)
    {
        var path = options.CertificatePath!;
        var password = options.CertificatePassword is { Length: > 0 } p ? p : null;
        if (options.KeyPath is { Length: > 0 } key)
        {
            return password is null ? X509Certificate2.CreateFromPemFile(path, key) : X509Certificate2.CreateFromEncryptedPemFile(path, password, key);
        }

        if (File.ReadAllText(path).Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return password is null ? X509Certificate2.CreateFromPemFile(path) : X509Certificate2.CreateFromEncryptedPemFile(path, password);
        }

        return X509CertificateLoader.LoadPkcs12FromFile(path, password);
    }

    private bool ValidateClientCertificate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_clientCas is null)
        {
            return errors == SslPolicyErrors.None;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_clientCas);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates the client sent along.
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (custom.Build(certificate))
        {
            return true;
        }

        _logger.LogInformation("Refused a client certificate ({Subject}): {Status}", certificate.Subject, string.Join(", ", custom.ChainStatus.Select(s => s.Status)));
        AuthMetrics.AuthFailed("x509", "untrusted-certificate");
        return false;
    }
}
