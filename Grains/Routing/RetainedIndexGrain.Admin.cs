using System.Text;

namespace OrleansMqtt.Grains;

public sealed partial class RetainedIndexGrain
{
    public Task<RetainedEntry[]> ListRetained(string? prefix, string? after, int limit)
    {
        var now = DateTime.UtcNow;
        var page = stored.State.Messages
            .Where(m => (prefix is null || m.Key.StartsWith(prefix, StringComparison.Ordinal)) && (after is null || string.CompareOrdinal(m.Key, after) > 0) && !m.Value.IsExpired(now))
            .OrderBy(m => m.Key, StringComparer.Ordinal)
            .Take(Math.Max(0, limit))
            .Select(m => new RetainedEntry(m.Key, m.Value.Qos, m.Value.Payload.Length, Preview(m.Value.Payload), m.Value.ExpiresAtUtc))
            .ToArray();
        return Task.FromResult(page);
    }

    public Task<int> CountRetained() => Task.FromResult(stored.State.Messages.Count);

    /// <summary>The payload as text for a listing: its first 256 bytes, invalid UTF-8 replaced.</summary>
    private static string Preview(ReadOnlyMemory<byte> payload) => Encoding.UTF8.GetString(payload.Span[..Math.Min(payload.Length, 256)]);
}
