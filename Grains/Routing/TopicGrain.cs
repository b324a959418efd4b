using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// One per topic name: keeps the retained message and the exact-topic subscribers, and routes every message
/// published to the topic. Wildcard matches come from at most two index partitions and are cached until a partition
/// reports a change, so publishing costs the same however many subscriptions the cluster holds elsewhere.
/// </summary>
public sealed class TopicGrain(
    [PersistentState("topic", StorageNames.Index)] IPersistentState<TopicState> stored,
    IOptions<RoutingOptions> options,
    ILogger<TopicGrain> logger) : Grain, ITopicGrain
{
    private readonly Dictionary<string, CachedMatches> _cache = [];
    private readonly Dictionary<string, long> _changedVersions = [];

    // Round-robin position per shared subscription ($share/{group}/{filter}) that matches this topic.
    private readonly Dictionary<string, int> _nextMember = [];
    private string[]? _partitions;
    private RoutingPlan? _plan;
    private GroupCommit? _commit;

    /// <summary>
    /// Every write of the stored state, grouped: subscriptions interleave, and those that come while a write runs share
    /// the next one (the record holds every subscriber of the topic, so a write per subscription would cost O(n) each).
    /// </summary>
    private GroupCommit Commit => _commit ??= new GroupCommit(() => stored.WriteStateAsync());

    private string TopicName => this.GetPrimaryKeyString();

    public async Task<int> Publish(MqttMessage[] messages)
    {
        var plan = await GetPlanAsync();
        var deliveries = new List<Task>();
        var perTarget = plan.Targets.Length == 0 ? null : new List<RoutedMessage>?[plan.Targets.Length];
        var retainedChanged = false;
        foreach (var message in messages)
        {
            if (message.Retain)
            {
                stored.State.Retained = message.ClearsRetained ? null : message;
                retainedChanged = true;
            }

            for (var i = 0; i < plan.Targets.Length; i++)
            {
                if (plan.Targets[i].Route(message) is { } routed)
                {
                    (perTarget![i] ??= new List<RoutedMessage>(messages.Length)).Add(routed);
                }
            }

            foreach (var (sharedFilter, members) in plan.Shared)
            {
                deliveries.Add(DeliverToOneMemberAsync(sharedFilter, members, message, null));
            }
        }

        for (var i = 0; perTarget is not null && i < perTarget.Length; i++)
        {
            if (perTarget[i] is { } routed)
            {
                deliveries.Add(plan.Targets[i].Session.DeliverMany([.. routed]));
            }
        }

        if (retainedChanged)
        {
            deliveries.Add(SaveRetainedAsync());
        }

        await Task.WhenAll(deliveries);
        return plan.Matched;
    }

    public async Task<MqttMessage?> Subscribe(Subscriber subscriber)
    {
        stored.State.Subscribers[subscriber.Key] = subscriber;
        _plan = null;
        await Commit.CommitAsync();
        return CurrentRetained();
    }

    public async Task<bool> Unsubscribe(string clientId, string? shareGroup)
    {
        if (!stored.State.Subscribers.Remove(SubscriberKey.Of(clientId, shareGroup)))
        {
            return false;
        }

        _plan = null;
        await Commit.CommitAsync();
        return true;
    }

    public Task<MqttMessage?> GetRetained() => Task.FromResult(CurrentRetained());

    /// <summary>A retained message past its expiry is no longer sent (3.3.2.3.3).</summary>
    private MqttMessage? CurrentRetained() => stored.State.Retained is { } retained && !retained.IsExpired(DateTime.UtcNow) ? retained : null;

    public async Task RedeliverShared(string sharedFilter, MqttMessage message, string formerMember)
    {
        var plan = await GetPlanAsync();
        var members = Array.Find(plan.Shared, s => s.Filter == sharedFilter).Members ?? [];
        await DeliverToOneMemberAsync(sharedFilter, members, message, formerMember);
    }

    public Task WildcardMatchesChanged(string partition, long version)
    {
        _cache.Remove(partition);
        _changedVersions[partition] = Math.Max(version, _changedVersions.GetValueOrDefault(partition));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A silo that shuts down takes its partitions' watcher lists with it; there is nobody to tell.
        if (reason.ReasonCode == DeactivationReasonCode.ShuttingDown)
        {
            return;
        }

        foreach (var partition in _cache.Keys)
        {
            try
            {
                await GrainFactory.Reference<IWildcardIndexGrain>(partition).Forget(TopicName);
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "Could not unregister topic {Topic} from partition {Partition}", TopicName, partition);
            }
        }
    }

    /// <summary>
    /// Who gets a message published here, worked out once for the current subscribers and wildcard answers rather than
    /// per message: built again when either changes.
    /// </summary>
    private async Task<RoutingPlan> GetPlanAsync()
    {
        var wildcard = await GetWildcardMatchesAsync();
        if (_plan is { } plan && plan.IsFor(wildcard))
        {
            return plan;
        }

        _plan = plan = RoutingPlan.Build(stored.State.Subscribers, wildcard, TopicName, GrainFactory);
        return plan;
    }

    /// <summary>
    /// Round robin over the members; a member whose session is gone is passed over. A member that is offline with a
    /// persistent session keeps the message queued for when it returns, as 4.8.2 allows.
    /// </summary>
    private async Task DeliverToOneMemberAsync(string sharedFilter, RoutingPlan.SharedMember[] members, MqttMessage message, string? exclude)
    {
        var start = _nextMember.GetValueOrDefault(sharedFilter);
        _nextMember[sharedFilter] = start + 1;
        for (var i = 0; i < members.Length; i++)
        {
            var (member, session) = members[(start + i) % members.Length];
            if (member.ClientId == exclude)
            {
                continue;
            }

            var qos = Math.Min(message.Qos, member.MaximumQos);
            var retain = message.Retain && member.RetainAsPublished;
            uint[]? ids = member.SubscriptionIdentifier is { } id ? [id] : null;
            if (await session.Deliver(message, qos, retain, ids, sharedFilter))
            {
                return;
            }
        }

        logger.LogWarning("No member of {SharedSubscription} could take a message on {Topic}", sharedFilter, TopicName);
    }

    private async Task SaveRetainedAsync()
    {
        await Commit.CommitAsync();
        await GrainFactory.Reference<IRetainedIndexGrain>(Topic.PartitionKey(TopicName)).Set(TopicName, stored.State.Retained);
    }

    private async Task<WildcardMatch[][]> GetWildcardMatchesAsync()
    {
        // A '$' topic never matches a filter that starts with a wildcard [MQTT-4.7.2-1], so it skips the root partition.
        _partitions ??= TopicName.StartsWith('$') || Topic.PartitionKey(TopicName) == Topic.RootPartition
            ? [Topic.PartitionKey(TopicName)]
            : [Topic.PartitionKey(TopicName), Topic.RootPartition];

        var result = new WildcardMatch[_partitions.Length][];
        var now = DateTime.UtcNow;
        for (var i = 0; i < _partitions.Length; i++)
        {
            var partition = _partitions[i];
            if (!_cache.TryGetValue(partition, out var cached) || now - cached.FetchedAtUtc > options.Value.WildcardCacheLifetime)
            {
                cached = await FetchAsync(partition, now);
            }

            result[i] = cached.Matches;
        }

        return result;
    }

    private async Task<CachedMatches> FetchAsync(string partition, DateTime now)
    {
        var index = GrainFactory.Reference<IWildcardIndexGrain>(partition);
        while (true)
        {
            var answer = await index.Match(TopicName);

            // A change reported while the answer was on its way makes that answer stale.
            if (answer.Version >= _changedVersions.GetValueOrDefault(partition))
            {
                var cached = new CachedMatches(answer.Matches, now);
                _cache[partition] = cached;
                return cached;
            }
        }
    }

    private sealed record CachedMatches(WildcardMatch[] Matches, DateTime FetchedAtUtc);
}
