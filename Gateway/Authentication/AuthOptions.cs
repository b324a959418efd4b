namespace OrleansMqtt.Gateway;

/// <summary>Authentication settings (section <c>Mqtt:Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Mqtt:Auth";

    /// <summary>
    /// The users file (<see cref="PasswordFile"/>); add users with <c>dotnet run --project Gateway -- passwd FILE USER</c>.
    /// </summary>
    public string? PasswordFile { get; set; }
}
