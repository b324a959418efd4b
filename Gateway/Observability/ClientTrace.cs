using System.Collections.Frozen;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Client ids whose packets are logged at Information level, until a time (the admin API's trace on demand). A
/// connection checks <see cref="Any"/>, one static read, before anything else; the set is replaced, never changed.
/// </summary>
public static class ClientTrace
{
    private static volatile FrozenDictionary<string, DateTime> _clients = FrozenDictionary<string, DateTime>.Empty;
    private static volatile bool _any;

    public static bool Any => _any;

    public static bool IsTraced(string? clientId) =>
        clientId is not null && _clients.TryGetValue(clientId, out var until) && until > DateTime.UtcNow;

    /// <summary>The traces in force, as the cluster knows them (replaces this process's set).</summary>
    public static void Set(IEnumerable<(string ClientId, DateTime UntilUtc)> traces)
    {
        var now = DateTime.UtcNow;
        var clients = traces.Where(t => t.UntilUtc > now).GroupBy(t => t.ClientId, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.Max(t => t.UntilUtc), StringComparer.Ordinal);
        _clients = clients;
        _any = clients.Count > 0;
    }

    /// <summary>Adds one trace in this process at once, before the next report brings it from the cluster.</summary>
    public static void Add(string clientId, DateTime untilUtc) =>
        Set(_clients.Select(c => (c.Key, c.Value)).Append((clientId, untilUtc)));

    public static IReadOnlyDictionary<string, DateTime> Current => _clients;
}
