using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// One per topic name: keeps the retained message and the exact-topic subscribers, and routes every message
/// published to the topic. Wildcard matches come from at most two index partitions and are cached until a partition
/// reports a change, so publishing costs the same however many subscriptions the cluster holds elsewhere.
/// </summary>
public sealed class TopicGrain(
    [PersistentState("topic", StorageNames.Mqtt)] IPersistentState<TopicState> stored,
    IOptions<RoutingOptions> options,
    ILogger<TopicGrain> logger) : Grain, ITopicGrain
{
    private readonly Dictionary<string, CachedMatches> _cache = [];
    private readonly Dictionary<string, long> _changedVersions = [];

    // Round-robin position per shared subscription ($share/{group}/{filter}) that matches this topic.
    private readonly Dictionary<string, int> _nextMember = [];
    private string[]? _partitions;

    private string TopicName => this.GetPrimaryKeyString();

    public async Task<int> Publish(MqttMessage[] messages)
    {
        var wildcard = await GetWildcardMatchesAsync();
        var subscribers = stored.State.Subscribers;
        var matched = subscribers.Count + wildcard.Sum(m => m.Length);
        var deliveries = new List<Task>();
        var retainedChanged = false;
        foreach (var message in messages)
        {
            if (message.Retain)
            {
                stored.State.Retained = message.ClearsRetained ? null : message;
                retainedChanged = true;
            }

            Route(message, subscribers, wildcard, deliveries);
        }

        if (retainedChanged)
        {
            deliveries.Add(SaveRetainedAsync());
        }

        await Task.WhenAll(deliveries);
        return matched;
    }

    public async Task<MqttMessage?> Subscribe(Subscriber subscriber)
    {
        stored.State.Subscribers[subscriber.Key] = subscriber;
        await stored.WriteStateAsync();
        return CurrentRetained();
    }

    public async Task<bool> Unsubscribe(string clientId, string? shareGroup)
    {
        if (!stored.State.Subscribers.Remove(SubscriberKey.Of(clientId, shareGroup)))
        {
            return false;
        }

        await stored.WriteStateAsync();
        return true;
    }

    public Task<MqttMessage?> GetRetained() => Task.FromResult(CurrentRetained());

    /// <summary>A retained message past its expiry is no longer sent (3.3.2.3.3).</summary>
    private MqttMessage? CurrentRetained() => stored.State.Retained is { } retained && !retained.IsExpired(DateTime.UtcNow) ? retained : null;

    public async Task RedeliverShared(string sharedFilter, MqttMessage message, string formerMember)
    {
        Topic.IsShared(sharedFilter, out var group, out var filter);
        var members = new List<Subscriber>();
        if (filter == TopicName)
        {
            members.AddRange(stored.State.Subscribers.Values.Where(s => s.ShareGroup == group));
        }
        else
        {
            foreach (var partition in await GetWildcardMatchesAsync())
            {
                members.AddRange(partition.Where(m => m.Filter == filter && m.Subscriber.ShareGroup == group).Select(m => m.Subscriber));
            }
        }

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
                await GrainFactory.GetGrain<IWildcardIndexGrain>(partition).Forget(TopicName);
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "Could not unregister topic {Topic} from partition {Partition}", TopicName, partition);
            }
        }
    }

    /// <summary>
    /// Each subscribing session gets one copy, at the highest QoS of its matching subscriptions, with every matching
    /// subscription identifier (3.3.4). No Local subscriptions skip the publisher's own session [MQTT-3.8.3-3].
    /// Each shared subscription that matches gives the message to one of its members (4.8.2).
    /// </summary>
    private void Route(MqttMessage message, Dictionary<string, Subscriber> exact, WildcardMatch[][] wildcard, List<Task> deliveries)
    {
        Dictionary<string, Target>? targets = null;
        Dictionary<string, List<Subscriber>>? shared = null;
        foreach (var subscriber in exact.Values)
        {
            Collect(ref targets, ref shared, message, TopicName, subscriber);
        }

        foreach (var partition in wildcard)
        {
            foreach (var match in partition)
            {
                Collect(ref targets, ref shared, message, match.Filter, match.Subscriber);
            }
        }

        if (targets is not null)
        {
            foreach (var (clientId, target) in targets)
            {
                var qos = Math.Min(message.Qos, target.Qos);
                var session = GrainFactory.GetGrain<ISessionGrain>(clientId);
                deliveries.Add(session.Deliver(message, qos, target.Retain, target.SubscriptionIds?.ToArray(), null));
            }
        }

        if (shared is not null)
        {
            foreach (var (sharedFilter, members) in shared)
            {
                deliveries.Add(DeliverToOneMemberAsync(sharedFilter, members, message, null));
            }
        }
    }

    private static void Collect(ref Dictionary<string, Target>? targets, ref Dictionary<string, List<Subscriber>>? shared, MqttMessage message, string filter, Subscriber subscriber)
    {
        if (subscriber.ShareGroup is { } group)
        {
            shared ??= new Dictionary<string, List<Subscriber>>(StringComparer.Ordinal);
            var key = $"$share/{group}/{filter}";
            if (!shared.TryGetValue(key, out var members))
            {
                shared[key] = members = [];
            }

            members.Add(subscriber);
            return;
        }

        Add(ref targets, message, subscriber);
    }

    /// <summary>
    /// Round robin over the members; a member whose session is gone is passed over. A member that is offline with a
    /// persistent session keeps the message queued for when it returns, as 4.8.2 allows.
    /// </summary>
    private async Task DeliverToOneMemberAsync(string sharedFilter, List<Subscriber> members, MqttMessage message, string? exclude)
    {
        var start = _nextMember.GetValueOrDefault(sharedFilter);
        _nextMember[sharedFilter] = start + 1;
        for (var i = 0; i < members.Count; i++)
        {
            var member = members[(start + i) % members.Count];
            if (member.ClientId == exclude)
            {
                continue;
            }

            var qos = Math.Min(message.Qos, member.MaximumQos);
            var retain = message.Retain && member.RetainAsPublished;
            uint[]? ids = member.SubscriptionIdentifier is { } id ? [id] : null;
            if (await GrainFactory.GetGrain<ISessionGrain>(member.ClientId).Deliver(message, qos, retain, ids, sharedFilter))
            {
                return;
            }
        }

        logger.LogWarning("No member of {SharedSubscription} could take a message on {Topic}", sharedFilter, TopicName);
    }

    private static void Add(ref Dictionary<string, Target>? targets, MqttMessage message, Subscriber subscriber)
    {
        if (subscriber.NoLocal && subscriber.ClientId == message.PublisherId)
        {
            return;
        }

        targets ??= new Dictionary<string, Target>(StringComparer.Ordinal);
        // Messages routed to existing subscriptions have RETAIN cleared unless Retain As Published [MQTT-3.3.1-9, 3.3.1-12].
        var retain = message.Retain && subscriber.RetainAsPublished;
        if (targets.TryGetValue(subscriber.ClientId, out var target))
        {
            target.Qos = Math.Max(target.Qos, subscriber.MaximumQos);
            target.Retain |= retain;
        }
        else
        {
            target = new Target { Qos = subscriber.MaximumQos, Retain = retain };
            targets[subscriber.ClientId] = target;
        }

        if (subscriber.SubscriptionIdentifier is { } id)
        {
            (target.SubscriptionIds ??= []).Add(id);
        }
    }

    private async Task SaveRetainedAsync()
    {
        await stored.WriteStateAsync();
        await GrainFactory.GetGrain<IRetainedIndexGrain>(Topic.PartitionKey(TopicName)).Set(TopicName, stored.State.Retained);
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
        var index = GrainFactory.GetGrain<IWildcardIndexGrain>(partition);
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

    private sealed class Target
    {
        public byte Qos;
        public bool Retain;
        public List<uint>? SubscriptionIds;
    }
}
