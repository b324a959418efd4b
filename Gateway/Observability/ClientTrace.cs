using System.Collections.Frozen;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Client ids whose packets this gateway logs at Information level, until a time (the admin API's trace on demand).
/// One per gateway (<see cref="GatewayEndpoint.Traces"/>), not per process: a process may host more than one. A
/// connection checks <see cref="Any"/>, one field read, before anything else; the set is replaced, never changed.
/// A trace ends only when its time is up, so what is added stays until then, whichever of this gateway's admin API
/// and the cluster's answer to its last report told of it first.
/// </summary>
public sealed class ClientTrace
{
    private readonly Lock _lock = new();
    private volatile FrozenDictionary<string, DateTime> _clients = FrozenDictionary<string, DateTime>.Empty;
    private volatile bool _any;

    public bool Any => _any;

    public IReadOnlyDictionary<string, DateTime> Current => _clients;

    public bool IsTraced(string? clientId) =>
        clientId is not null && _clients.TryGetValue(clientId, out var until) && until > DateTime.UtcNow;

    /// <summary>Adds traces (each client's latest end counts); those whose time is up are dropped.</summary>
    public void Add(IEnumerable<(string ClientId, DateTime UntilUtc)> traces)
    {
        var now = DateTime.UtcNow;
        lock (_lock)
        {
            var clients = _clients.Select(c => (ClientId: c.Key, UntilUtc: c.Value))
                .Concat(traces)
                .Where(t => t.UntilUtc > now)
                .GroupBy(t => t.ClientId, StringComparer.Ordinal)
                .ToFrozenDictionary(g => g.Key, g => g.Max(t => t.UntilUtc), StringComparer.Ordinal);
            _clients = clients;
            _any = clients.Count > 0;
        }
    }

    public void Add(string clientId, DateTime untilUtc) => Add([(clientId, untilUtc)]);
}
