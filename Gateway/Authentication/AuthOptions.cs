namespace OrleansMqtt.Gateway;

/// <summary>
/// Authentication settings (section <c>Mqtt:Auth</c>). Every method configured here is offered at once: a CONNECT
/// password that is a JWT goes to <see cref="Jwt"/>, other user names and passwords to <see cref="PasswordFile"/>,
/// and a client without credentials that presented a TLS client certificate is named by <see cref="X509"/>.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Mqtt:Auth";

    /// <summary>
    /// Whether a client that proves no identity may connect. Unset: allowed only when every MQTT listener (TCP, TLS,
    /// and the HTTP listener when it carries WebSockets) binds a loopback address, as the embedded default does.
    /// </summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>
    /// The users file (<see cref="Gateway.PasswordFile"/>): checks CONNECT user names and passwords and SCRAM-SHA-256.
    /// Add users with <c>dotnet run --project Gateway -- passwd FILE USER</c>. Re-read when it changes.
    /// </summary>
    public string? PasswordFile { get; set; }

    public JwtAuthOptions Jwt { get; set; } = new();

    public X509AuthOptions X509 { get; set; } = new();
}

/// <summary>A JSON Web Token in the CONNECT password (section <c>Mqtt:Auth:Jwt</c>); on when a key is configured.</summary>
public sealed class JwtAuthOptions
{
    /// <summary>Shared secret for HS256 (UTF-8 text, at least 32 bytes).</summary>
    public string? Secret { get; set; }

    /// <summary>A JWKS file (<c>{"keys": [...]}</c>) with the public keys for RS256 and ES256; re-read when it changes.</summary>
    public string? JwksPath { get; set; }

    /// <summary>The <c>iss</c> a token must carry; unset: any.</summary>
    public string? Issuer { get; set; }

    /// <summary>The <c>aud</c> a token must carry; unset: any.</summary>
    public string? Audience { get; set; }

    /// <summary>The claim that names the user (for ACL rules and logs).</summary>
    public string UserNameClaim { get; set; } = "sub";

    /// <summary>When set, the CONNECT client id must equal this claim of the token, else CONNACK 0x87 (v3: 5).</summary>
    public string? ClientIdClaim { get; set; }

    /// <summary>Tolerance for clocks that disagree when <c>exp</c> and <c>nbf</c> are checked.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public bool Enabled => Secret is { Length: > 0 } || JwksPath is { Length: > 0 };
}

/// <summary>
/// TLS client certificates as identities (section <c>Mqtt:Auth:X509</c>). The certificate is checked during the TLS
/// handshake against <c>Mqtt:Tls:ClientCaPath</c>; this only says whether it names the user, and how.
/// </summary>
public sealed class X509AuthOptions
{
    public bool Enabled { get; set; }

    /// <summary>What of the certificate is the user name: <c>CommonName</c>, <c>Subject</c> (the whole DN) or <c>SanDns</c> (first DNS name of the SAN).</summary>
    public X509UserName UserName { get; set; } = X509UserName.CommonName;
}

public enum X509UserName
{
    CommonName,
    Subject,
    SanDns,
}
