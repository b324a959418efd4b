using System.Security.Cryptography;
using System.Text;
using OrleansMqtt.Gateway;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>A broker with a password file, for enhanced authentication.</summary>
public sealed class AuthBrokerFixture : IAsyncLifetime
{
    public const string User = "device-1";
    public const string Password = "correct horse";

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"mqtt-users-{Guid.NewGuid():N}");

    public EmbeddedBroker Broker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        PasswordFile.SetUser(_file, User, Password, iterations: 4096);
        Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?> { ["Mqtt:Auth:PasswordFile"] = _file });
    }

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        File.Delete(_file);
    }
}

/// <summary>MQTT 5 enhanced authentication (AUTH, 4.12) with SCRAM-SHA-256, and re-authentication.</summary>
public sealed class EnhancedAuthenticationTests(AuthBrokerFixture fixture) : IClassFixture<AuthBrokerFixture>
{
    private const string Method = "SCRAM-SHA-256";
    private readonly int _port = fixture.Broker.Port;

    [Fact]
    public async Task A_client_that_proves_its_password_is_connected_and_can_check_the_server()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        var scram = new ScramClient(AuthBrokerFixture.User, AuthBrokerFixture.Password);
        var connAck = await ScramConnectAsync(client, scram);

        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        Assert.Equal(Method, connAck.AuthenticationMethod);
        Assert.True(scram.VerifyServer(connAck.AuthenticationData!), "the server's signature does not prove it knows the verifier");
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_0x86()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await ScramConnectAsync(client, new ScramClient(AuthBrokerFixture.User, "wrong"));
        Assert.Equal(ReasonCode.BadUserNameOrPassword, connAck.ReasonCode);
        Assert.Empty(await client.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task An_unknown_user_is_refused_with_0x86()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        var scram = new ScramClient("nobody", "x");
        client.Version = MqttProtocolVersion.V500;
        await client.SendAsync(w => MqttEncoder.WriteConnect(w, Connect(scram.ClientFirst())));
        var connAck = MqttDecoder.DecodeConnAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, connAck.ReasonCode);
    }

    [Fact]
    public async Task An_unsupported_method_is_refused_with_0x8C()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await client.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "k-" + Guid.NewGuid().ToString("N"), AuthenticationMethod = "KERBEROS" });
        Assert.Equal(ReasonCode.BadAuthenticationMethod, connAck.ReasonCode);
    }

    [Fact]
    public async Task A_connected_client_can_re_authenticate()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        Assert.Equal(ReasonCode.Success, (await ScramConnectAsync(client, new ScramClient(AuthBrokerFixture.User, AuthBrokerFixture.Password))).ReasonCode);

        var again = new ScramClient(AuthBrokerFixture.User, AuthBrokerFixture.Password);
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ReAuthenticate, AuthenticationMethod = Method, AuthenticationData = again.ClientFirst() }));
        var challenge = MqttDecoder.DecodeAuth((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal(ReasonCode.ContinueAuthentication, challenge.ReasonCode);
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, AuthenticationMethod = Method, AuthenticationData = again.ClientFinal(challenge.AuthenticationData!) }));
        var done = MqttDecoder.DecodeAuth((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal(ReasonCode.Success, done.ReasonCode);
        Assert.True(again.VerifyServer(done.AuthenticationData!));
    }

    [Fact]
    public async Task A_failed_re_authentication_ends_the_connection_with_0x87()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        Assert.Equal(ReasonCode.Success, (await ScramConnectAsync(client, new ScramClient(AuthBrokerFixture.User, AuthBrokerFixture.Password))).ReasonCode);

        var wrong = new ScramClient(AuthBrokerFixture.User, "not it");
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ReAuthenticate, AuthenticationMethod = Method, AuthenticationData = wrong.ClientFirst() }));
        var challenge = MqttDecoder.DecodeAuth((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, AuthenticationMethod = Method, AuthenticationData = wrong.ClientFinal(challenge.AuthenticationData!) }));
        Assert.Equal(ReasonCode.NotAuthorized, (await client.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task AUTH_from_a_client_that_did_not_authenticate_in_CONNECT_is_a_protocol_error()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        await client.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "plain-" + Guid.NewGuid().ToString("N") });
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ReAuthenticate, AuthenticationMethod = Method }));
        Assert.Equal(ReasonCode.ProtocolError, (await client.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task The_passwd_command_adds_a_user_whose_password_then_verifies()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mqtt-users-{Guid.NewGuid():N}");
        var gateway = Path.Combine(BrokerProcess.RepositoryRoot, "Gateway", "bin", AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug", "net10.0", "OrleansMqtt.Gateway.dll");
        try
        {
            await using var passwd = ExternalProcess.Start("dotnet", [gateway, "passwd", file, "sensor-7"], standardInput: "s3cret\n");
            Assert.Equal(0, await passwd.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            var users = PasswordFile.Load(file);
            Assert.True(users.Verify("sensor-7", "s3cret"u8));
            Assert.False(users.Verify("sensor-7", "guess"u8));
            Assert.DoesNotContain("s3cret", await File.ReadAllTextAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static ConnectPacket Connect(byte[] clientFirst) => new()
    {
        ProtocolVersion = MqttProtocolVersion.V500,
        ClientId = "scram-" + Guid.NewGuid().ToString("N"),
        AuthenticationMethod = Method,
        AuthenticationData = clientFirst,
    };

    /// <summary>CONNECT with client-first, AUTH with client-final in answer to the challenge, then CONNACK.</summary>
    private static async Task<ConnAckPacket> ScramConnectAsync(RawMqttClient client, ScramClient scram)
    {
        client.Version = MqttProtocolVersion.V500;
        await client.SendAsync(w => MqttEncoder.WriteConnect(w, Connect(scram.ClientFirst())));
        var frame = await client.ReadFrameAsync();
        Assert.Equal(PacketType.Auth, frame.Type);
        var challenge = MqttDecoder.DecodeAuth(frame.Frame, MqttProtocolVersion.V500);
        Assert.Equal((ReasonCode.ContinueAuthentication, Method), (challenge.ReasonCode, challenge.AuthenticationMethod));
        await client.SendAsync(w => MqttEncoder.WriteAuth(w, new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, AuthenticationMethod = Method, AuthenticationData = scram.ClientFinal(challenge.AuthenticationData!) }));
        var answer = await client.ReadFrameAsync();
        Assert.Equal(PacketType.ConnAck, answer.Type);
        return MqttDecoder.DecodeConnAck(answer.Frame, MqttProtocolVersion.V500);
    }

    /// <summary>The client side of SCRAM-SHA-256 (RFC 5802), as a device would run it.</summary>
    private sealed class ScramClient(string user, string password)
    {
        private readonly string _nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        private string _authMessage = "";
        private byte[] _saltedPassword = [];

        private string ClientFirstBare => $"n={user},r={_nonce}";

        public byte[] ClientFirst() => Encoding.UTF8.GetBytes("n,," + ClientFirstBare);

        public byte[] ClientFinal(byte[] serverFirstBytes)
        {
            var serverFirst = Encoding.UTF8.GetString(serverFirstBytes);
            var fields = serverFirst.Split(',').ToDictionary(p => p[0], p => p[2..]);
            Assert.StartsWith(_nonce, fields['r']);
            _saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(fields['s']), int.Parse(fields['i']), HashAlgorithmName.SHA256, 32);
            var withoutProof = $"c=biws,r={fields['r']}";
            _authMessage = $"{ClientFirstBare},{serverFirst},{withoutProof}";
            var clientKey = HMACSHA256.HashData(_saltedPassword, "Client Key"u8);
            var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), Encoding.UTF8.GetBytes(_authMessage));
            var proof = clientKey.Zip(signature, (a, b) => (byte)(a ^ b)).ToArray();
            return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(proof)}");
        }

        public bool VerifyServer(byte[] serverFinal)
        {
            var serverKey = HMACSHA256.HashData(_saltedPassword, "Server Key"u8);
            var expected = "v=" + Convert.ToBase64String(HMACSHA256.HashData(serverKey, Encoding.UTF8.GetBytes(_authMessage)));
            return Encoding.UTF8.GetString(serverFinal) == expected;
        }
    }
}
