using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace OrleansMqtt.Gateway;

/// <summary>
/// A JSON Web Token in the CONNECT password: HS256 with <c>Mqtt:Auth:Jwt:Secret</c>, RS256 and ES256 with the keys of
/// <c>Mqtt:Auth:Jwt:JwksPath</c>. Signature, expiry (required), not-before, issuer and audience are checked.
/// </summary>
public sealed class JwtAuthenticator
{
    private readonly JwtAuthOptions _options;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly SymmetricSecurityKey? _secret;
    private readonly ReloadingFile<IList<SecurityKey>>? _jwks;

    public JwtAuthenticator(IOptions<AuthOptions> options, ILogger<JwtAuthenticator> logger)
    {
        _options = options.Value.Jwt;
        if (_options.Secret is { Length: > 0 } secret)
        {
            _secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret));
        }

        if (_options.JwksPath is { Length: > 0 } path)
        {
            _jwks = new ReloadingFile<IList<SecurityKey>>("JWKS", [path], () => new JsonWebKeySet(File.ReadAllText(path)).GetSigningKeys(), logger);
        }
    }

    public bool Enabled => _options.Enabled;

    /// <summary>Three base64url parts, the first a JSON object: what a JWS compact serialization looks like.</summary>
    public static bool LooksLikeJwt(ReadOnlySpan<byte> password) =>
        password.Length > 16 && password.StartsWith("eyJ"u8) && password.Count((byte)'.') == 2;

    public async Task<AuthResult> AuthenticateAsync(string clientId, byte[] password)
    {
        var keys = new List<SecurityKey>();
        var algorithms = new List<string>();
        if (_secret is not null)
        {
            keys.Add(_secret);
            algorithms.Add(SecurityAlgorithms.HmacSha256);
        }

        if (_jwks is not null)
        {
            keys.AddRange(_jwks.Current);
            algorithms.Add(SecurityAlgorithms.RsaSha256);
            algorithms.Add(SecurityAlgorithms.EcdsaSha256);
        }

        var parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ValidAlgorithms = algorithms,
            ValidateIssuerSigningKey = true,
            ValidateIssuer = _options.Issuer is not null,
            ValidIssuer = _options.Issuer,
            ValidateAudience = _options.Audience is not null,
            ValidAudience = _options.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = _options.ClockSkew,
        };

        string token;
        try
        {
            token = Encoding.UTF8.GetString(password);
        }
        catch (ArgumentException)
        {
            return AuthResult.BadCredentials("jwt", "malformed");
        }

        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return AuthResult.BadCredentials("jwt", Why(result.Exception));
        }

        var claims = jwt.Claims.GroupBy(c => c.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(c => c.Value).ToArray(), StringComparer.Ordinal);
        var user = claims.TryGetValue(_options.UserNameClaim, out var names) && names.Length > 0 ? names[0] : null;
        if (user is null)
        {
            return AuthResult.BadCredentials("jwt", "no-user-claim");
        }

        if (_options.ClientIdClaim is { Length: > 0 } bound && (!claims.TryGetValue(bound, out var ids) || !ids.Contains(clientId, StringComparer.Ordinal)))
        {
            return AuthResult.NotAuthorized("jwt", "client-id-not-in-token");
        }

        return AuthResult.Accept(new ClientIdentity(user, "jwt", claims));
    }

    /// <summary>A fixed word for the log and the metric's tag, never text from the token.</summary>
    private static string Why(Exception? error) => error switch
    {
        SecurityTokenExpiredException => "expired",
        SecurityTokenNotYetValidException => "not-yet-valid",
        SecurityTokenNoExpirationException => "no-expiry",
        SecurityTokenInvalidIssuerException => "wrong-issuer",
        SecurityTokenInvalidAudienceException => "wrong-audience",
        SecurityTokenInvalidAlgorithmException => "wrong-algorithm",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad-signature",
        _ => "invalid",
    };
}
