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
        stored.State.Subscribers[subscriber.ClientId] = subscriber;
        await stored.WriteStateAsync();
        return stored.State.Retained;
    }

    public async Task<bool> Unsubscribe(string clientId)
    {
        if (!stored.State.Subscribers.Remove(clientId))
        {
            return false;
        }

        await stored.WriteStateAsync();
        return true;
    }

    public Task<MqttMessage?> GetRetained() => Task.FromResult(stored.State.Retained);

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
    /// </summary>
    private void Route(MqttMessage message, Dictionary<string, Subscriber> exact, WildcardMatch[][] wildcard, List<Task> deliveries)
    {
        Dictionary<string, Target>? targets = null;
        foreach (var subscriber in exact.Values)
        {
            Add(ref targets, message, subscriber);
        }

        foreach (var partition in wildcard)
        {
            foreach (var match in partition)
            {
                Add(ref targets, message, match.Subscriber);
            }
        }

        if (targets is null)
        {
            return;
        }

        foreach (var (clientId, target) in targets)
        {
            var qos = Math.Min(message.Qos, target.Qos);
            var session = GrainFactory.GetGrain<ISessionGrain>(clientId);
            deliveries.Add(session.Deliver(message, qos, target.Retain, target.SubscriptionIds?.ToArray()));
        }
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
