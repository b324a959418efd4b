using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Messages per topic since the last report, for the dashboard's top topics. A known topic costs one lookup and one
/// atomic add; at most <see cref="MaxTopics"/> topics are tracked per report interval, so a fleet publishing to a
/// million topics costs bounded memory (the top list then comes from the first topics seen).
/// </summary>
public static class TopicCounter
{
    public const int MaxTopics = 10_000;

    private static ConcurrentDictionary<string, StrongBox<long>> _counts = new(StringComparer.Ordinal);
    private static int _size;

    public static void Count(string topic)
    {
        var counts = _counts;
        if (counts.TryGetValue(topic, out var box))
        {
            Interlocked.Increment(ref box.Value);
            return;
        }

        if (Volatile.Read(ref _size) >= MaxTopics)
        {
            return;
        }

        Interlocked.Increment(ref _size);
        Interlocked.Increment(ref counts.GetOrAdd(topic, static _ => new StrongBox<long>()).Value);
    }

    /// <summary>The busiest topics since the last call, and starts counting afresh.</summary>
    public static TopicCount[] TakeTop(int count)
    {
        var counts = Interlocked.Exchange(ref _counts, new ConcurrentDictionary<string, StrongBox<long>>(StringComparer.Ordinal));
        Volatile.Write(ref _size, 0);
        return [.. counts.Select(c => new TopicCount(c.Key, Volatile.Read(ref c.Value.Value))).OrderByDescending(c => c.Count).Take(count)];
    }
}
