namespace OrleansMqtt.Grains;

/// <summary>
/// One partition of the session directory (see <see cref="ISessionDirectoryGrain"/>); in memory only, so it is kept
/// from idle collection: sessions report changes only, and a quiet hour must not empty it.
/// </summary>
[KeepAlive]
public sealed class SessionDirectoryGrain : Grain, ISessionDirectoryGrain
{
    private readonly Dictionary<string, SessionEntry> _entries = new(StringComparer.Ordinal);
    private long _online;
    private long _offlinePersistent;
    private long _subscriptions;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        SiloMetrics.DirectoryActivated(this);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        SiloMetrics.DirectoryDeactivated(this);
        return Task.CompletedTask;
    }

    /// <summary>What this partition counts, for the silo's gauges (read from the metrics thread).</summary>
    internal DirectoryCounts Counts => new(Volatile.Read(ref _online), Volatile.Read(ref _offlinePersistent), Volatile.Read(ref _subscriptions));

    public Task Update(SessionEntry entry)
    {
        if (_entries.TryGetValue(entry.ClientId, out var old))
        {
            if (old.UpdatedUtc > entry.UpdatedUtc)
            {
                // One-way calls may overtake each other: the newer word stands.
                return Task.CompletedTask;
            }

            Count(old, -1);
        }

        if (entry.Exists)
        {
            _entries[entry.ClientId] = entry;
            Count(entry, +1);
        }
        else
        {
            _entries.Remove(entry.ClientId);
        }

        return Task.CompletedTask;
    }

    public Task<SessionEntry[]> Search(string? search, bool? connected, string? after, int limit) => Task.FromResult(_entries.Values
        .Where(e => (search is null || e.ClientId.Contains(search, StringComparison.OrdinalIgnoreCase))
            && (connected is null || e.Connected == connected)
            && (after is null || string.CompareOrdinal(e.ClientId, after) > 0))
        .OrderBy(e => e.ClientId, StringComparer.Ordinal)
        .Take(Math.Max(0, limit))
        .ToArray());

    public Task<DirectoryCounts> Count() => Task.FromResult(Counts);

    private void Count(SessionEntry entry, int sign)
    {
        if (entry.Connected)
        {
            _online += sign;
        }
        else if (entry.Persistent)
        {
            _offlinePersistent += sign;
        }

        _subscriptions += sign * entry.Subscriptions;
    }
}
