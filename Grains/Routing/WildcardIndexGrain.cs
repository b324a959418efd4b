using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

[GenerateSerializer, Alias("mqtt.WildcardIndexState")]
public sealed class WildcardIndexState
{
    /// <summary>Filter to subscribers by <see cref="Subscriber.Key"/>.</summary>
    [Id(0)] public Dictionary<string, Dictionary<string, Subscriber>> Filters { get; set; } = [];
}

/// <summary>
/// One partition of the wildcard subscription index (filters by first level). Matching runs on a filter tree, and
/// the topic grains that cached an answer are told when a change touches them.
/// </summary>
public sealed class WildcardIndexGrain(
    [PersistentState("wildcards", StorageNames.Index)] IPersistentState<WildcardIndexState> stored,
    ILogger<WildcardIndexGrain> logger) : Grain, IWildcardIndexGrain
{
    private readonly TopicFilterTree<Subscriber> _tree = new();
    private readonly HashSet<string> _watchers = new(StringComparer.Ordinal);

    // Versions only grow, across activations too, so a topic grain can tell a stale answer from a fresh one.
    private long _version = DateTime.UtcNow.Ticks;
    private GroupCommit? _commit;

    /// <summary>
    /// Writes of the partition, grouped: subscriptions interleave, and those that come while a write runs share the next
    /// one (the record holds every filter of the partition, so a write per subscription would cost O(n) each).
    /// </summary>
    private GroupCommit Commit => _commit ??= new GroupCommit(() => stored.WriteStateAsync());

    private string Partition => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var (filter, subscribers) in stored.State.Filters)
        {
            foreach (var subscriber in subscribers.Values)
            {
                _tree.Add(filter, subscriber);
            }
        }

        return Task.CompletedTask;
    }

    public async Task Subscribe(string filter, Subscriber subscriber)
    {
        if (!stored.State.Filters.TryGetValue(filter, out var subscribers))
        {
            subscribers = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
            stored.State.Filters[filter] = subscribers;
        }

        if (subscribers.Remove(subscriber.Key, out var previous))
        {
            _tree.Remove(filter, previous);
        }

        subscribers[subscriber.Key] = subscriber;
        _tree.Add(filter, subscriber);
        await Commit.CommitAsync();
        await NotifyAsync(filter);
    }

    public async Task<bool> Unsubscribe(string filter, string clientId, string? shareGroup)
    {
        if (!stored.State.Filters.TryGetValue(filter, out var subscribers) || !subscribers.Remove(SubscriberKey.Of(clientId, shareGroup), out var previous))
        {
            return false;
        }

        if (subscribers.Count == 0)
        {
            stored.State.Filters.Remove(filter);
        }

        _tree.Remove(filter, previous);
        await Commit.CommitAsync();
        await NotifyAsync(filter);
        return true;
    }

    public Task<WildcardMatches> Match(string topic)
    {
        if (_watchers.Add(topic) && _watchers.Count == 1)
        {
            // Watchers live in memory: stay active while someone relies on them.
            DelayDeactivation(TimeSpan.MaxValue);
        }

        var found = new List<(string Filter, Subscriber Value)>();
        _tree.Match(topic, found);
        var matches = new WildcardMatch[found.Count];
        for (var i = 0; i < found.Count; i++)
        {
            matches[i] = new WildcardMatch(found[i].Filter, found[i].Value);
        }

        return Task.FromResult(new WildcardMatches(_version, matches));
    }

    public Task Forget(string topic)
    {
        if (_watchers.Remove(topic) && _watchers.Count == 0)
        {
            DelayDeactivation(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Tells each topic grain whose cached answer this filter touches, and waits for them, so that a SUBACK sent
    /// after this returns is followed by deliveries to the new subscription.
    /// </summary>
    private async Task NotifyAsync(string filter)
    {
        var version = ++_version;
        var tasks = new List<Task>();
        foreach (var topic in _watchers)
        {
            if (Topic.Matches(filter, topic))
            {
                tasks.Add(GrainFactory.Reference<ITopicGrain>(topic).WildcardMatchesChanged(Partition, version));
            }
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not tell every topic of partition {Partition} about a change to {Filter}", Partition, filter);
        }
    }
}
