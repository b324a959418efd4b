using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using OrleansMqtt.Gateway;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>
/// A broker as an operator would put it on the internet: anonymous clients refused, a password file, JWT (HS256 and
/// a JWKS with RS256 and ES256 keys, issuer, audience, client id bound to the <c>client_id</c> claim), TLS with
/// optional client certificates that name the user, WebSocket on the HTTP listener, and an ACL file.
/// </summary>
public sealed class EdgeBrokerFixture : IAsyncLifetime
{
    public const string Alice = "alice";
    public const string AlicePassword = "alice's password";
    public const string Bob = "bob";
    public const string BobPassword = "bob's password";
    public const string Monitor = "monitor";
    public const string MonitorPassword = "monitor's password";

    public const string Acl = """
        # Every client: its own device tree; every user: read its own tree, write its outbox.
        pattern readwrite devices/%c/#
        pattern read users/%u/#
        pattern write users/%u/out/#

        user alice
        topic readwrite sensors/#
        topic deny sensors/secret
        topic write retained/alice/#

        user bob
        topic read #

        user monitor
        topic read $SYS/#

        user device-7
        topic readwrite certs/#

        client special-client
        topic write special/#

        claim role admin
        topic readwrite admin/#
        """;

    public TestCertificates Certificates { get; } = new();

    public TestTokens Tokens { get; private set; } = null!;

    public EmbeddedBroker Broker { get; private set; } = null!;

    public int TlsPort { get; private set; }

    public int HttpPort { get; private set; }

    public int Port => Broker.Port;

    public async Task InitializeAsync()
    {
        var users = Certificates.PathOf("users");
        PasswordFile.SetUser(users, Alice, AlicePassword, iterations: 4096);
        PasswordFile.SetUser(users, Bob, BobPassword, iterations: 4096);
        PasswordFile.SetUser(users, Monitor, MonitorPassword, iterations: 4096);
        Tokens = new TestTokens(Certificates.PathOf("jwks.json"));
        var acl = Certificates.PathOf("acl");
        await File.WriteAllTextAsync(acl, Acl);
        using (var server = Certificates.IssueServer())
        {
            TestCertificates.WritePfx(server, Certificates.PathOf("server.pfx"), "pfx-password");
        }

        var ports = FreePorts.Get(2);
        (TlsPort, HttpPort) = (ports[0], ports[1]);
        Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Auth:AllowAnonymous"] = "false",
            ["Mqtt:Auth:PasswordFile"] = users,
            ["Mqtt:Auth:Jwt:Secret"] = TestTokens.Secret,
            ["Mqtt:Auth:Jwt:JwksPath"] = Tokens.JwksPath,
            ["Mqtt:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Mqtt:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Mqtt:Auth:Jwt:ClientIdClaim"] = "client_id",
            ["Mqtt:Auth:X509:Enabled"] = "true",
            ["Mqtt:Tls:Enabled"] = "true",
            ["Mqtt:Tls:Port"] = TlsPort.ToString(),
            ["Mqtt:Tls:CertificatePath"] = Certificates.PathOf("server.pfx"),
            ["Mqtt:Tls:CertificatePassword"] = "pfx-password",
            ["Mqtt:Tls:ClientCertificateMode"] = "Allow",
            ["Mqtt:Tls:ClientCaPath"] = Certificates.CaPemPath,
            ["Mqtt:Http:Enabled"] = "true",
            ["Mqtt:Http:Port"] = HttpPort.ToString(),
            ["Mqtt:Acl:File"] = acl,
            ["Mqtt:Sys:Interval"] = "00:00:01",
        });
    }

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        Tokens.Dispose();
        Certificates.Dispose();
    }

    /// <summary>TLS options that trust the test CA only, with an optional client certificate.</summary>
    public Action<MqttClientOptionsBuilder> OverTls(X509Certificate2? clientCertificate = null) => b => b
        .WithTcpServer("127.0.0.1", TlsPort)
        .WithTlsOptions(o =>
        {
            o.UseTls().WithCertificateValidationHandler(e => TestCertificates.ChainsTo(e.Certificate, Certificates.Ca));
            if (clientCertificate is not null)
            {
                o.WithClientCertificates([clientCertificate]);
            }
        });
}

/// <summary>Connecting when the outcome may be a refusal.</summary>
public static class EdgeConnect
{
    /// <summary>The CONNACK's code, or the exception when no CONNACK came (TLS refused, connection closed).</summary>
    public static async Task<(MqttClientConnectResultCode? Code, Exception? Error)> TryAsync(int port, string clientId, MqttProtocolVersion version, Action<MqttClientOptionsBuilder> configure)
    {
        try
        {
            await using var client = await TestClient.ConnectAsync(port, clientId, version, configure);
            return (client.ConnectResult.ResultCode, null);
        }
        catch (ConnectRefusedException ex)
        {
            return (ex.Result.ResultCode, null);
        }
        catch (Exception ex) when (ex is MqttConnectingFailedException or MqttCommunicationException or OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return (null, ex);
        }
    }

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];
}
