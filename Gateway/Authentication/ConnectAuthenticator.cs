using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Decides who a CONNECT is, with every method configured in <c>Mqtt:Auth</c>:
/// <list type="number">
/// <item>a password that looks like a JWT, when JWT is configured: the token decides;</item>
/// <item>other credentials, when a password file is configured: user name and password must match it;</item>
/// <item>no credentials and a TLS client certificate, when X.509 is on: the certificate names the user;</item>
/// <item>otherwise the client is anonymous, and connects only when anonymous clients are allowed.</item>
/// </list>
/// Credentials that no configured method can check are ignored: the client counts as anonymous (its user name is
/// not trusted, so ACL rules for users never apply to it).
/// </summary>
public sealed class ConnectAuthenticator
{
    private readonly AuthOptions _options;
    private readonly JwtAuthenticator _jwt;
    private readonly ReloadingFile<PasswordFile>? _passwords;

    public ConnectAuthenticator(IOptions<AuthOptions> options, IOptions<GatewayOptions> gateway, IOptions<TlsOptions> tls, IOptions<WebSocketOptions> webSocket, JwtAuthenticator jwt, ILogger<ConnectAuthenticator> logger)
    {
        _options = options.Value;
        _jwt = jwt;
        if (_options.PasswordFile is { Length: > 0 } path)
        {
            _passwords = new ReloadingFile<PasswordFile>("password file", [path], () => PasswordFile.Load(path), logger);
        }

        AnonymousAllowed = _options.AllowAnonymous ?? ListenersAreLoopbackOnly(gateway.Value, tls.Value, webSocket.Value);
        if (!AnonymousAllowed && _passwords is null && !_jwt.Enabled && !_options.X509.Enabled)
        {
            logger.LogWarning("Anonymous clients are refused and no authentication method is configured (Mqtt:Auth): every CONNECT will be refused");
        }
    }

    public bool AnonymousAllowed { get; }

    /// <summary>The password file as it is now (null when none is configured); SCRAM-SHA-256 uses it too.</summary>
    public PasswordFile? Users => _passwords?.Current;

    /// <summary>True when every listener that accepts MQTT binds a loopback address: only this machine can connect.</summary>
    public static bool ListenersAreLoopbackOnly(GatewayOptions gateway, TlsOptions tls, WebSocketOptions webSocket)
    {
        static bool Loopback(string address) => IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip);
        return (!gateway.Tcp.Enabled || Loopback(gateway.Tcp.Address))
            && (!tls.Enabled || Loopback(tls.Address))
            && (!gateway.Http.Enabled || !webSocket.Enabled || Loopback(gateway.Http.Address));
    }

    public async ValueTask<AuthResult> AuthenticateAsync(string clientId, string? userName, byte[]? password, X509Certificate2? clientCertificate)
    {
        if (password is not null && _jwt.Enabled && JwtAuthenticator.LooksLikeJwt(password))
        {
            return await _jwt.AuthenticateAsync(clientId, password);
        }

        if ((userName is not null || password is not null) && (_passwords is not null || _jwt.Enabled))
        {
            if (_passwords is null)
            {
                return AuthResult.BadCredentials("jwt", "not-a-jwt");
            }

            if (userName is null || password is null)
            {
                return AuthResult.BadCredentials("password", userName is null ? "no-user-name" : "no-password");
            }

            var users = _passwords.Current;
            if (!users.TryGet(userName, out _))
            {
                return AuthResult.BadCredentials("password", "unknown-user");
            }

            return users.Verify(userName, password) ? AuthResult.Accept(ClientIdentity.User(userName, "password")) : AuthResult.BadCredentials("password", "bad-password");
        }

        if (clientCertificate is not null && _options.X509.Enabled)
        {
            var name = X509Name(clientCertificate, _options.X509.UserName);
            return name is { Length: > 0 } ? AuthResult.Accept(ClientIdentity.User(name, "x509")) : AuthResult.BadCredentials("x509", "no-name-in-certificate");
        }

        return AnonymousAllowed ? AuthResult.Accept(ClientIdentity.Anonymous) : AuthResult.NotAuthorized("anonymous", "anonymous-refused");
    }

    /// <summary>The user name a client certificate carries: its subject's common name, its whole subject, or its first DNS SAN.</summary>
    public static string? X509Name(X509Certificate2 certificate, X509UserName from) => from switch
    {
        X509UserName.Subject => certificate.Subject,
        X509UserName.SanDns => certificate.Extensions
            .Where(e => e.Oid?.Value == "2.5.29.17")
            .SelectMany(e => new X509SubjectAlternativeNameExtension(e.RawData, e.Critical).EnumerateDnsNames())
            .FirstOrDefault(),
        _ => certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false),
    };
}
