using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace OrleansMqtt.Tests.Edge;

/// <summary>Keys and signed tokens for JWT tests: an HS256 secret, and RSA and EC keys published in a JWKS file.</summary>
public sealed class TestTokens : IDisposable
{
    public const string Issuer = "https://issuer.test";
    public const string Audience = "orleans-mqtt";
    public const string Secret = "a-test-secret-of-more-than-32-bytes-for-hs256";

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestTokens(string jwksPath)
    {
        JwksPath = jwksPath;
        var rsa = _rsa.ExportParameters(false);
        var ec = _ec.ExportParameters(false);
        var jwks = new
        {
            keys = new object[]
            {
                new { kty = "RSA", kid = "rsa-1", use = "sig", alg = "RS256", n = Base64UrlEncoder.Encode(rsa.Modulus), e = Base64UrlEncoder.Encode(rsa.Exponent) },
                new { kty = "EC", kid = "ec-1", use = "sig", alg = "ES256", crv = "P-256", x = Base64UrlEncoder.Encode(ec.Q.X), y = Base64UrlEncoder.Encode(ec.Q.Y) },
            },
        };
        File.WriteAllText(jwksPath, JsonSerializer.Serialize(jwks));
    }

    public string JwksPath { get; }

    public SigningCredentials Hs256 => new(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256);

    public SigningCredentials Rs256 => new(new RsaSecurityKey(_rsa) { KeyId = "rsa-1" }, SecurityAlgorithms.RsaSha256);

    public SigningCredentials Es256 => new(new ECDsaSecurityKey(_ec) { KeyId = "ec-1" }, SecurityAlgorithms.EcdsaSha256);

    /// <summary>A token for <paramref name="subject"/> bound to <paramref name="clientId"/>, valid now unless <paramref name="expires"/> says otherwise.</summary>
    public static string Create(SigningCredentials key, string subject, string clientId, string issuer = Issuer, DateTime? expires = null, IDictionary<string, object>? claims = null)
    {
        var until = expires ?? DateTime.UtcNow.AddMinutes(10);
        var all = new Dictionary<string, object> { ["sub"] = subject, ["client_id"] = clientId };
        foreach (var (name, value) in claims ?? new Dictionary<string, object>())
        {
            all[name] = value;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            IssuedAt = until.AddMinutes(-20),
            NotBefore = until.AddMinutes(-20),
            Expires = until,
            Claims = all,
            SigningCredentials = key,
        });
    }

    public void Dispose()
    {
        _rsa.Dispose();
        _ec.Dispose();
    }
}
