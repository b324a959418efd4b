using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansMqtt.Tests.Edge;

/// <summary>A test CA and certificates it issues, made with <see cref="CertificateRequest"/> (ECDSA P-256), written to a temporary folder.</summary>
public sealed class TestCertificates : IDisposable
{
    public TestCertificates(string caName = "OrleansMqtt Test CA")
    {
        Directory.CreateDirectory(Folder);
        Ca = CreateCa(caName);
        CaPemPath = Path.Combine(Folder, "ca.pem");
        File.WriteAllText(CaPemPath, Ca.ExportCertificatePem());
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "mqtt-certs-" + Guid.NewGuid().ToString("N"));

    public X509Certificate2 Ca { get; }

    public string CaPemPath { get; }

    public string PathOf(string name) => Path.Combine(Folder, name);

    public static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A server certificate for 127.0.0.1 and localhost.</summary>
    public X509Certificate2 IssueServer(string commonName = "localhost") => Issue(Ca, commonName, server: true, dnsName: "localhost");

    /// <summary>A client certificate; <paramref name="dnsName"/> goes in its SAN.</summary>
    public X509Certificate2 IssueClient(string commonName, string? dnsName = null) => Issue(Ca, commonName, server: false, dnsName);

    public static X509Certificate2 Issue(X509Certificate2 ca, string commonName, bool server, string? dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}, O=OrleansMqtt tests", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        if (dnsName is not null)
        {
            san.AddDnsName(dnsName);
        }

        if (server)
        {
            san.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        using var withKey = issued.CopyWithPrivateKey(key);

        // Through PKCS#12 so that the private key lives on after this method (as a loaded file's would).
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, "x"), "x", X509KeyStorageFlags.Exportable);
    }

    public static void WritePfx(X509Certificate2 certificate, string path, string? password) =>
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));

    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>True when <paramref name="certificate"/> chains to <paramref name="ca"/> alone (for clients' validation callbacks).</summary>
    public static bool ChainsTo(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(certificate));
    }

    public static RemoteCertificateValidationCallback Trusting(X509Certificate2 ca) => (_, certificate, _, _) => certificate is not null && ChainsTo(certificate, ca);

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
