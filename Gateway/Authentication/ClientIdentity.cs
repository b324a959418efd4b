namespace OrleansMqtt.Gateway;

/// <summary>Who a connection proved to be: the user (null when anonymous), how, and the claims of its token, if any.</summary>
public sealed record ClientIdentity(string? UserName, string Method, IReadOnlyDictionary<string, string[]> Claims)
{
    public static readonly ClientIdentity Anonymous = new(null, "anonymous", new Dictionary<string, string[]>());

    public static ClientIdentity User(string userName, string method) => new(userName, method, Anonymous.Claims);
}

/// <summary>The outcome of authenticating a CONNECT: an identity, or the CONNACK code and why (for the log and metric).</summary>
public readonly record struct AuthResult(ClientIdentity? Identity, Protocol.ReasonCode Refusal, string Method, string Reason)
{
    public static AuthResult Accept(ClientIdentity identity) => new(identity, Protocol.ReasonCode.Success, identity.Method, "");

    /// <summary>Credentials given and wrong: v5 0x86, v3 4.</summary>
    public static AuthResult BadCredentials(string method, string reason) => new(null, Protocol.ReasonCode.BadUserNameOrPassword, method, reason);

    /// <summary>No acceptable identity (anonymous refused, client id not bound to the token): v5 0x87, v3 5.</summary>
    public static AuthResult NotAuthorized(string method, string reason) => new(null, Protocol.ReasonCode.NotAuthorized, method, reason);
}
