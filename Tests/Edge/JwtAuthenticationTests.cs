using System.Text;
using MQTTnet;
using MQTTnet.Formatter;

namespace OrleansMqtt.Tests.Edge;

/// <summary>A JWT in the CONNECT password: signature (HS256, RS256, ES256 from a JWKS file), expiry, issuer, audience, client id bound to a claim.</summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class JwtAuthenticationTests(EdgeBrokerFixture fixture)
{
    private TestTokens Tokens => fixture.Tokens;

    public static TheoryData<string> Algorithms => ["HS256", "RS256", "ES256"];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task A_valid_token_connects(string algorithm)
    {
        var key = algorithm switch { "HS256" => Tokens.Hs256, "RS256" => Tokens.Rs256, _ => Tokens.Es256 };
        var clientId = EdgeConnect.NewId("jwt");
        var code = await ConnectAsync(clientId, TestTokens.Create(key, "jwt-user", clientId));
        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }

    [Fact]
    public async Task A_token_in_the_password_field_of_a_v3_client_connects()
    {
        var clientId = EdgeConnect.NewId("jwt");
        var code = await ConnectAsync(clientId, TestTokens.Create(Tokens.Es256, "jwt-user", clientId), MqttProtocolVersion.V311);
        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var clientId = EdgeConnect.NewId("jwt");
        var code = await ConnectAsync(clientId, TestTokens.Create(Tokens.Rs256, "jwt-user", clientId, expires: DateTime.UtcNow.AddMinutes(-5)));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, code);
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_refused()
    {
        var clientId = EdgeConnect.NewId("jwt");
        var code = await ConnectAsync(clientId, TestTokens.Create(Tokens.Hs256, "jwt-user", clientId, issuer: "https://elsewhere.test"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, code);
    }

    [Fact]
    public async Task A_token_signed_with_an_unknown_key_is_refused()
    {
        using var other = new TestTokens(fixture.Certificates.PathOf("other-jwks.json"));
        var clientId = EdgeConnect.NewId("jwt");
        var code = await ConnectAsync(clientId, TestTokens.Create(other.Es256, "jwt-user", clientId));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, code);
    }

    [Fact]
    public async Task A_token_with_its_signature_altered_is_refused()
    {
        var clientId = EdgeConnect.NewId("jwt");
        var token = TestTokens.Create(Tokens.Hs256, "jwt-user", clientId);
        var tampered = token[..^4] + (token[^4] == 'A' ? "BBBB" : "AAAA");
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync(clientId, tampered));
    }

    [Fact]
    public async Task A_token_for_another_client_id_is_not_authorized()
    {
        var token = TestTokens.Create(Tokens.Hs256, "jwt-user", "the-bound-client");
        var code = await ConnectAsync(EdgeConnect.NewId("thief"), token);
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, code);
    }

    private async Task<MqttClientConnectResultCode?> ConnectAsync(string clientId, string token, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var (code, error) = await EdgeConnect.TryAsync(fixture.Port, clientId, version, b => b.WithCredentials("token", Encoding.UTF8.GetBytes(token)));
        Assert.Null(error);
        return code;
    }
}
