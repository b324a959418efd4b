namespace OrleansMqtt.Gateway;

/// <summary>
/// An MQTT 5 enhanced authentication method (4.12): CONNECT or AUTH names it in Authentication Method, and the
/// exchange of Authentication Data runs through <see cref="IEnhancedAuthentication"/>. Register implementations in
/// the service collection; the gateway picks one by <see cref="Method"/>.
/// </summary>
public interface IEnhancedAuthenticator
{
    string Method { get; }

    /// <summary>Starts one exchange, for one connection (or one re-authentication).</summary>
    IEnhancedAuthentication Begin();
}

/// <summary>One exchange: each step gets the client's Authentication Data and says what to answer.</summary>
public interface IEnhancedAuthentication
{
    AuthStep Step(ReadOnlySpan<byte> clientData);
}

public enum AuthOutcome
{
    /// <summary>Send AUTH 0x18 with <see cref="AuthStep.Data"/> and wait for the client's next AUTH.</summary>
    Continue,

    /// <summary>Authenticated as <see cref="AuthStep.UserName"/>; <see cref="AuthStep.Data"/> goes in CONNACK or AUTH 0x00.</summary>
    Success,

    /// <summary>Refused: CONNACK or DISCONNECT with <see cref="AuthStep.Reason"/>.</summary>
    Failure,
}

public readonly record struct AuthStep(AuthOutcome Outcome, byte[]? Data = null, string? UserName = null, string? Reason = null)
{
    public static AuthStep Continue(byte[] data) => new(AuthOutcome.Continue, data);

    public static AuthStep Success(string userName, byte[]? data) => new(AuthOutcome.Success, data, userName);

    public static AuthStep Fail(string reason) => new(AuthOutcome.Failure, Reason: reason);
}
