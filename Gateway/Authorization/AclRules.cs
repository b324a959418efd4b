using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>Read is SUBSCRIBE (and so receiving), write is PUBLISH (will and retained messages included).</summary>
[Flags]
public enum AclAccess
{
    None = 0,
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
    Deny = 4,
}

/// <summary>One <c>topic</c> or <c>pattern</c> line; a pattern's <c>%u</c> and <c>%c</c> are substituted per client.</summary>
public sealed record AclRule(AclAccess Access, string Filter, bool IsPattern);

/// <summary>
/// ACL rules in the syntax of mosquitto's acl_file, one per line, '#' starting a comment line:
/// <code>
/// topic [read|write|readwrite|deny] FILTER     applies to the section it is in
/// pattern [read|write|readwrite|deny] FILTER   applies to every client, %u = user name, %c = client id
/// user NAME                                    starts the section of an authenticated user
/// client ID                                    starts the section of a client id
/// claim NAME VALUE                             starts the section of clients whose token has this claim value
/// </code>
/// <c>topic</c> lines before the first section apply to anonymous clients, as in mosquitto. Access left out means
/// readwrite. A deny rule wins over any allow rule; with no matching allow rule the answer is no.
/// </summary>
public sealed class AclRules
{
    private readonly List<AclRule> _anonymous = [];
    private readonly List<AclRule> _patterns = [];
    private readonly Dictionary<string, List<AclRule>> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<AclRule>> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, string Value), List<AclRule>> _claims = [];

    public static AclRules Parse(IEnumerable<string> lines, string source)
    {
        var rules = new AclRules();
        var section = rules._anonymous;
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var (keyword, rest) = Split(line);
            switch (keyword)
            {
                case "user" when rest.Length > 0:
                    section = Section(rules._users, rest);
                    break;
                case "client" when rest.Length > 0:
                    section = Section(rules._clients, rest);
                    break;
                case "claim" when Split(rest) is ({ Length: > 0 } name, { Length: > 0 } value):
                    section = Section(rules._claims, (name, value));
                    break;
                case "topic" or "pattern":
                    var (access, filter) = Split(rest);
                    var accessValue = access switch
                    {
                        "read" => AclAccess.Read,
                        "write" => AclAccess.Write,
                        "readwrite" => AclAccess.ReadWrite,
                        "deny" => AclAccess.Deny,
                        _ => AclAccess.None,
                    };
                    if (accessValue == AclAccess.None)
                    {
                        // "topic FILTER": no access word means readwrite.
                        (accessValue, filter) = (AclAccess.ReadWrite, rest);
                    }

                    var check = filter.Replace("%u", "u", StringComparison.Ordinal).Replace("%c", "c", StringComparison.Ordinal);
                    if (filter.Length == 0 || !Topic.IsValidFilter(check))
                    {
                        throw new FormatException($"{source}:{number}: '{filter}' is not a topic filter");
                    }

                    (keyword == "pattern" ? rules._patterns : section).Add(new AclRule(accessValue, filter, keyword == "pattern"));
                    break;
                default:
                    throw new FormatException($"{source}:{number}: expected topic, pattern, user, client or claim, not '{line}'");
            }
        }

        return rules;
    }

    /// <summary>The rules that apply to one client, patterns substituted; computed once per connection.</summary>
    public AclRule[] For(ClientIdentity identity, string clientId)
    {
        var result = new List<AclRule>();
        if (identity.UserName is null)
        {
            result.AddRange(_anonymous);
        }
        else if (_users.TryGetValue(identity.UserName, out var userRules))
        {
            result.AddRange(userRules);
        }

        if (_clients.TryGetValue(clientId, out var clientRules))
        {
            result.AddRange(clientRules);
        }

        foreach (var ((name, value), claimRules) in _claims)
        {
            if (identity.Claims.TryGetValue(name, out var values) && values.Contains(value, StringComparer.Ordinal))
            {
                result.AddRange(claimRules);
            }
        }

        foreach (var pattern in _patterns)
        {
            // A pattern with %u does not apply to anonymous clients; a name with wildcards or levels in it would
            // widen the pattern, so such a name matches no pattern (mosquitto does the same).
            var filter = pattern.Filter;
            if (filter.Contains("%u", StringComparison.Ordinal))
            {
                if (identity.UserName is not { } user || !IsPlainLevel(user))
                {
                    continue;
                }

                filter = filter.Replace("%u", user, StringComparison.Ordinal);
            }

            if (filter.Contains("%c", StringComparison.Ordinal))
            {
                if (!IsPlainLevel(clientId))
                {
                    continue;
                }

                filter = filter.Replace("%c", clientId, StringComparison.Ordinal);
            }

            result.Add(pattern with { Filter = filter });
        }

        return [.. result];
    }

    /// <summary>A PUBLISH to <paramref name="topic"/>: allowed by a write rule and matched by no deny rule.</summary>
    public static bool MayPublish(AclRule[] rules, string topic)
    {
        var allowed = false;
        foreach (var rule in rules)
        {
            if (rule.Access == AclAccess.Deny)
            {
                if (Topic.Matches(rule.Filter, topic))
                {
                    return false;
                }
            }
            else if (!allowed && (rule.Access & AclAccess.Write) != 0 && Topic.Matches(rule.Filter, topic))
            {
                allowed = true;
            }
        }

        return allowed;
    }

    /// <summary>
    /// A SUBSCRIBE to <paramref name="filter"/>: every topic it can match must be readable by one rule, and none may be
    /// denied. A filter that could reach a denied topic is refused whole, since deliveries are not checked one by one.
    /// A shared subscription is judged by its inner filter.
    /// </summary>
    public static bool MaySubscribe(AclRule[] rules, string filter)
    {
        if (Topic.IsShared(filter, out _, out var inner))
        {
            filter = inner;
        }

        var allowed = false;
        foreach (var rule in rules)
        {
            if (rule.Access == AclAccess.Deny)
            {
                if (Overlaps(rule.Filter, filter))
                {
                    return false;
                }
            }
            else if (!allowed && (rule.Access & AclAccess.Read) != 0 && Covers(rule.Filter, filter))
            {
                allowed = true;
            }
        }

        return allowed;
    }

    /// <summary>True when every topic <paramref name="filter"/> matches is matched by <paramref name="rule"/>.</summary>
    public static bool Covers(string rule, string filter)
    {
        var r = rule.Split('/');
        var f = filter.Split('/');
        if (IsWildcard(r[0]) && f[0].StartsWith('$'))
        {
            // A filter that starts with a wildcard matches no topic that starts with '$' [MQTT-4.7.2-1].
            return false;
        }

        for (var i = 0; i < r.Length; i++)
        {
            if (r[i] == "#")
            {
                return true;
            }

            if (i >= f.Length || f[i] == "#" || (f[i] == "+" && r[i] != "+") || (r[i] != "+" && r[i] != f[i]))
            {
                return false;
            }
        }

        return f.Length == r.Length;
    }

    /// <summary>True when some topic is matched by both filters.</summary>
    public static bool Overlaps(string a, string b)
    {
        var x = a.Split('/');
        var y = b.Split('/');
        if ((IsWildcard(x[0]) && y[0].StartsWith('$')) || (IsWildcard(y[0]) && x[0].StartsWith('$')))
        {
            return false;
        }

        for (var i = 0; ; i++)
        {
            if (i == x.Length || i == y.Length)
            {
                // One ended: both did, or what is left of the other is '#', which also matches its parent level.
                return (i == x.Length && i == y.Length) || (i == x.Length && y.Length == i + 1 && y[i] == "#") || (i == y.Length && x.Length == i + 1 && x[i] == "#");
            }

            if (x[i] == "#" || y[i] == "#")
            {
                return true;
            }

            if (x[i] != "+" && y[i] != "+" && x[i] != y[i])
            {
                return false;
            }
        }
    }

    private static bool IsWildcard(string level) => level is "+" or "#";

    private static bool IsPlainLevel(string value) => value.Length > 0 && value.AsSpan().IndexOfAny('+', '#', '/') < 0;

    private static (string First, string Remainder) Split(string text)
    {
        var space = text.IndexOfAny([' ', '\t']);
        return space < 0 ? (text, "") : (text[..space], text[(space + 1)..].Trim());
    }

    private static List<AclRule> Section<TKey>(Dictionary<TKey, List<AclRule>> sections, TKey key)
        where TKey : notnull
    {
        if (!sections.TryGetValue(key, out var rules))
        {
            sections[key] = rules = [];
        }

        return rules;
    }
}
