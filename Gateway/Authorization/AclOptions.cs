namespace OrleansMqtt.Gateway;

/// <summary>
/// Access control (section <c>Mqtt:Acl</c>). With neither a file nor rules every client may publish and subscribe to
/// everything; with either, only what a rule allows (see <see cref="AclRules"/> for the syntax, mosquitto's acl_file).
/// </summary>
public sealed class AclOptions
{
    public const string Section = "Mqtt:Acl";

    /// <summary>An ACL file; re-read when it changes.</summary>
    public string? File { get; set; }

    /// <summary>Rules inline, one line each in the file's syntax (<c>Mqtt__Acl__Rules__0</c>, ...); they follow the file's.</summary>
    public List<string> Rules { get; set; } = [];

    public bool Enabled => File is { Length: > 0 } || Rules.Count > 0;
}
