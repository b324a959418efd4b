using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>The ACL in force: <c>Mqtt:Acl:File</c> (re-read when it changes), then <c>Mqtt:Acl:Rules</c>.</summary>
public sealed class Authorizer
{
    private readonly ReloadingFile<AclRules>? _file;
    private readonly AclRules? _inline;

    public Authorizer(IOptions<AclOptions> options, ILogger<Authorizer> logger)
    {
        var acl = options.Value;
        Enabled = acl.Enabled;
        if (acl.File is { Length: > 0 } path)
        {
            _file = new ReloadingFile<AclRules>("ACL file", [path], () => AclRules.Parse(File.ReadLines(path), path), logger);
        }

        if (acl.Rules.Count > 0)
        {
            _inline = AclRules.Parse(acl.Rules, "Mqtt:Acl:Rules");
        }
    }

    public bool Enabled { get; }

    /// <summary>Changes (by reference) when the file was read again: a connection then derives its rules anew.</summary>
    public object? Version => (object?)_file?.Current ?? _inline;

    /// <summary>The rules that apply to one client, from the file and inline, patterns substituted.</summary>
    public AclRule[] RulesFor(ClientIdentity identity, string clientId) =>
        [.. _file?.Current.For(identity, clientId) ?? [], .. _inline?.For(identity, clientId) ?? []];
}
