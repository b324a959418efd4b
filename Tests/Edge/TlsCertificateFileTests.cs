using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>
/// A broker whose certificate is a PEM pair that the tests replace, with client certificates required (mTLS) and TLS
/// on the HTTP listener too (wss). Anonymous clients are allowed: the certificate is the gate here.
/// </summary>
public sealed class PemTlsBrokerFixture : IAsyncLifetime
{
    public TestCertificates Certificates { get; } = new("OrleansMqtt Rotating CA");

    public EmbeddedBroker Broker { get; private set; } = null!;

    public int TlsPort { get; private set; }

    public int HttpPort { get; private set; }

    public string CertificatePath => Certificates.PathOf("server.crt");

    public string KeyPath => Certificates.PathOf("server.key");

    public async Task InitializeAsync()
    {
        using (var server = Certificates.IssueServer("first"))
        {
            TestCertificates.WritePem(server, CertificatePath, KeyPath);
        }

        var ports = FreePorts.Get(2);
        (TlsPort, HttpPort) = (ports[0], ports[1]);
        Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Auth:AllowAnonymous"] = "true",
            ["Mqtt:Tls:Enabled"] = "true",
            ["Mqtt:Tls:Port"] = TlsPort.ToString(),
            ["Mqtt:Tls:CertificatePath"] = CertificatePath,
            ["Mqtt:Tls:KeyPath"] = KeyPath,
            ["Mqtt:Tls:ClientCertificateMode"] = "Require",
            ["Mqtt:Tls:ClientCaPath"] = Certificates.CaPemPath,
            ["Mqtt:Http:Enabled"] = "true",
            ["Mqtt:Http:Port"] = HttpPort.ToString(),
            ["Mqtt:Http:Tls"] = "true",
        });
    }

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        Certificates.Dispose();
    }
}

/// <summary>mTLS, wss, and a certificate file replaced while the broker runs.</summary>
public sealed class TlsCertificateFileTests(PemTlsBrokerFixture fixture) : IClassFixture<PemTlsBrokerFixture>
{
    [Fact]
    public async Task With_client_certificates_required_a_client_without_one_is_refused_in_the_handshake()
    {
        var (code, error) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("mtls"), MqttProtocolVersion.V311, Tls(null, _ => { }));
        Assert.Null(code);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task With_client_certificates_required_a_client_with_one_from_the_CA_connects()
    {
        using var certificate = fixture.Certificates.IssueClient("device-1");
        var (code, error) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("mtls"), MqttProtocolVersion.V500, Tls(certificate, _ => { }));
        Assert.Null(error);
        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }

    [Fact]
    public async Task A_wss_client_with_a_certificate_exchanges_messages()
    {
        using var certificate = fixture.Certificates.IssueClient("browser-1");
        var topic = "wss/" + Guid.NewGuid().ToString("N");
        await using var client = await TestClient.ConnectAsync(0, EdgeConnect.NewId("wss"), MqttProtocolVersion.V500, b => b
            .WithWebSocketServer(o => o.WithUri($"wss://127.0.0.1:{fixture.HttpPort}/mqtt"))
            .WithTlsOptions(o => o.UseTls()
                .WithCertificateValidationHandler(e => TestCertificates.ChainsTo(e.Certificate, fixture.Certificates.Ca))
                .WithClientCertificates([certificate])));
        await client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await client.PublishAsync(topic, "over wss", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("over wss", (await client.ReceiveAsync("its own message over wss")).Text());
    }

    [Fact]
    public async Task A_new_connection_gets_the_certificate_that_replaced_the_file()
    {
        using var certificate = fixture.Certificates.IssueClient("device-2");
        Assert.Equal("CN=first, O=OrleansMqtt tests", await ServerSubjectAsync(certificate));

        using (var renewed = fixture.Certificates.IssueServer("second"))
        {
            // Written beside and moved over, as certificate tools do, so the broker never reads half a file.
            TestCertificates.WritePem(renewed, fixture.CertificatePath + ".new", fixture.KeyPath + ".new");
            File.Move(fixture.KeyPath + ".new", fixture.KeyPath, overwrite: true);
            File.Move(fixture.CertificatePath + ".new", fixture.CertificatePath, overwrite: true);
        }

        var deadline = DateTime.UtcNow + TestClient.Patience;
        string? subject;
        while ((subject = await ServerSubjectAsync(certificate)) != "CN=second, O=OrleansMqtt tests" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal("CN=second, O=OrleansMqtt tests", subject);
    }

    private async Task<string?> ServerSubjectAsync(X509Certificate2 clientCertificate)
    {
        string? subject = null;
        var (code, _) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("reload"), MqttProtocolVersion.V311, Tls(clientCertificate, e => subject = e.Certificate.Subject));
        Assert.Equal(MqttClientConnectResultCode.Success, code);
        return subject;
    }

    private Action<MqttClientOptionsBuilder> Tls(X509Certificate2? clientCertificate, Action<MqttClientCertificateValidationEventArgs> seen) => b => b
        .WithTcpServer("127.0.0.1", fixture.TlsPort)
        .WithTlsOptions(o =>
        {
            o.UseTls().WithCertificateValidationHandler(e =>
            {
                seen(e);
                return TestCertificates.ChainsTo(e.Certificate, fixture.Certificates.Ca);
            });
            if (clientCertificate is not null)
            {
                o.WithClientCertificates([clientCertificate]);
            }
        });
}
