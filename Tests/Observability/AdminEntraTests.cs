using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>
/// The admin API with Entra ID: access tokens of the configured issuer and audience are accepted, with the app role
/// when one is required. The issuer here is a local OpenID Connect metadata endpoint with its own signing key, as
/// Entra ID publishes them.
/// </summary>
public sealed class AdminEntraTests : IAsyncLifetime
{
    private const string Audience = "api://orleans-mqtt-admin";
    private const string Role = "Mqtt.Admin";
    private readonly RSA _rsa = RSA.Create(2048);
    private WebApplication _issuer = null!;
    private EmbeddedBroker _broker = null!;
    private string _authority = "";
    private int _http;

    public async Task InitializeAsync()
    {
        var ports = FreePorts.Get(2);
        _authority = $"http://127.0.0.1:{ports[0]}/tenant/v2.0";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{ports[0]}");
        _issuer = builder.Build();
        _issuer.MapGet("/tenant/v2.0/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, string>
        {
            ["issuer"] = _authority,
            ["jwks_uri"] = _authority + "/keys",
        }));
        var parameters = _rsa.ExportParameters(false);
        _issuer.MapGet("/tenant/v2.0/keys", () => Results.Json(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = "test-key",
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                },
            },
        }));
        await _issuer.StartAsync();

        _http = ports[1];
        _broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Http:Enabled"] = "true",
            ["Mqtt:Http:Port"] = _http.ToString(),
            ["Mqtt:Admin:Entra:Authority"] = _authority,
            ["Mqtt:Admin:Entra:Audience"] = Audience,
            ["Mqtt:Admin:Entra:Role"] = Role,
        });
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _issuer.DisposeAsync();
        _rsa.Dispose();
    }

    [Fact]
    public async Task A_token_of_the_issuer_and_audience_with_the_admin_role_is_accepted_and_others_are_not()
    {
        Assert.Equal(HttpStatusCode.OK, await CallAsync(Token(Audience, [Role])));
        Assert.Equal(HttpStatusCode.Forbidden, await CallAsync(Token(Audience, ["Mqtt.Reader"])));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(Token("api://something-else", [Role])));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(Token(Audience, [Role], expired: true)));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(Token(Audience, [Role], issuer: "http://127.0.0.1:1/other/v2.0")));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(null));
    }

    private async Task<HttpStatusCode> CallAsync(string? token)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_http}"), Timeout = ObservedBroker.Patience };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return (await client.GetAsync(new Uri("/admin/clients", UriKind.Relative))).StatusCode;
    }

    private string Token(string audience, string[] roles, bool expired = false, string? issuer = null)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? _authority,
            Audience = audience,
            NotBefore = expired ? now.AddHours(-2) : now.AddMinutes(-1),
            Expires = expired ? now.AddHours(-1) : now.AddMinutes(10),
            Claims = new Dictionary<string, object> { ["roles"] = roles, ["name"] = "operator" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
        });
    }
}
