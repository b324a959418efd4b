using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

public sealed partial class SessionGrain
{
    public async Task<SubscribeResult> Subscribe(long connectionId, SubscriptionRequest[] subscriptions, uint? subscriptionIdentifier)
    {
        var codes = new byte[subscriptions.Length];
        if (State.Connection is not { } connection || connection.ConnectionId != connectionId)
        {
            Array.Fill(codes, (byte)ReasonCode.UnspecifiedError);
            return new SubscribeResult(codes, []);
        }

        var retained = new List<Delivery>();
        long? subscriptionBytes = null;
        for (var i = 0; i < subscriptions.Length; i++)
        {
            var request = subscriptions[i];
            if (!Topic.IsValidFilter(request.Filter))
            {
                codes[i] = (byte)ReasonCode.TopicFilterInvalid;
                continue;
            }

            var shared = Topic.IsShared(request.Filter, out var group, out var filter);
            var qos = Math.Min(request.MaximumQos, (byte)QualityOfService.ExactlyOnce);
            var isNew = !State.Subscriptions.ContainsKey(request.Filter);
            if (isNew && !SubscriptionFits(request.Filter, ref subscriptionBytes))
            {
                codes[i] = (byte)ReasonCode.QuotaExceeded;
                continue;
            }

            var subscriber = new Subscriber(ClientId, qos, request.NoLocal, request.RetainAsPublished, subscriptionIdentifier, shared ? group : null);
            State.Subscriptions[request.Filter] = new StoredSubscription(qos, request.NoLocal, request.RetainAsPublished, request.RetainHandling, subscriptionIdentifier);

            // Retained messages go out on every SUBSCRIBE, replaced ones included [MQTT-3.8.4-3], unless the
            // v5 Retain Handling option says otherwise (3.8.3.1), and never for a shared subscription (4.8.2).
            var wantsRetained = !shared && (request.RetainHandling == (byte)RetainHandling.SendAtSubscribe
                || (request.RetainHandling == (byte)RetainHandling.SendAtSubscribeIfNew && isNew));
            var matches = await AddToIndexAsync(filter, subscriber, wantsRetained);
            codes[i] = qos;
            foreach (var message in matches)
            {
                // A retained message sent because of a new subscription has RETAIN set [MQTT-3.3.1-8].
                var queued = new QueuedMessage(message, Math.Min(message.Qos, qos), true, subscriptionIdentifier is { } id ? [id] : null);
                Dispatch(queued, connection, retained);
            }
        }

        await SaveAsync();
        ReportToDirectory();
        return new SubscribeResult(codes, [.. retained]);
    }

    /// <summary>What a subscription takes in stored state beside its filter, at most.</summary>
    private const int StoredSubscriptionSize = 40;

    /// <summary>
    /// Whether a new subscription to <paramref name="filter"/> leaves the session's state within the record its
    /// storage holds (<see cref="SessionOptions.SubscriptionByteLimit"/>); always where there is no such bound. A
    /// session whose state outgrew its record could store nothing more: every message to it would fail.
    /// <paramref name="taken"/> carries what the subscriptions take through one SUBSCRIBE, counted at its first new
    /// filter.
    /// </summary>
    private bool SubscriptionFits(string filter, ref long? taken)
    {
        if (_options.SubscriptionByteLimit(IsPersistent) is not { } limit)
        {
            return true;
        }

        if (taken is null)
        {
            long existing = 0;
            foreach (var subscription in State.Subscriptions.Keys)
            {
                existing += StoredSubscriptionSize + System.Text.Encoding.UTF8.GetByteCount(subscription);
            }

            taken = existing;
        }

        var bytes = taken.Value + StoredSubscriptionSize + System.Text.Encoding.UTF8.GetByteCount(filter);
        if (bytes <= limit)
        {
            taken = bytes;
            return true;
        }

        _logger.LogWarning("Session {ClientId} refused a subscription to {Filter}: its {Count} subscriptions would take more than the {Limit} bytes its storage record leaves them (Azure Table storage; AzureBlob has no such bound)", ClientId, filter, State.SubscriptionCount + 1, limit);
        return false;
    }

    public async Task<byte[]> Unsubscribe(long connectionId, string[] filters)
    {
        var codes = new byte[filters.Length];
        if (!IsCurrent(connectionId))
        {
            Array.Fill(codes, (byte)ReasonCode.UnspecifiedError);
            return codes;
        }

        _wantedTopic = null;
        for (var i = 0; i < filters.Length; i++)
        {
            if (!State.Subscriptions.Remove(filters[i]))
            {
                codes[i] = Topic.IsValidFilter(filters[i]) ? (byte)ReasonCode.NoSubscriptionExisted : (byte)ReasonCode.TopicFilterInvalid;
                continue;
            }

            await RemoveFromIndexAsync(filters[i]);
            codes[i] = (byte)ReasonCode.Success;
        }

        await SaveAsync();
        ReportToDirectory();
        return codes;
    }

    /// <summary>Registers the subscription where publishes find it; returns the retained messages it matches.</summary>
    private async Task<MqttMessage[]> AddToIndexAsync(string filter, Subscriber subscriber, bool wantsRetained)
    {
        if (!Topic.HasWildcard(filter))
        {
            var retained = await GrainFactory.Reference<ITopicGrain>(filter).Subscribe(subscriber);
            return wantsRetained && retained is not null ? [retained] : [];
        }

        await GrainFactory.Reference<IWildcardIndexGrain>(Topic.PartitionKey(filter)).Subscribe(filter, subscriber);
        return wantsRetained ? await FindRetainedAsync(filter) : [];
    }

    /// <summary>Takes a subscription, as the session names it (<c>$share/...</c> included), out of the index.</summary>
    private Task RemoveFromIndexAsync(string subscription)
    {
        var group = Topic.IsShared(subscription, out var g, out var filter) ? g : null;
        return Topic.HasWildcard(filter)
            ? GrainFactory.Reference<IWildcardIndexGrain>(Topic.PartitionKey(filter)).Unsubscribe(filter, ClientId, group)
            : GrainFactory.Reference<ITopicGrain>(filter).Unsubscribe(ClientId, group);
    }

    /// <summary>
    /// Asks only the retained-index partition of the filter's first level; a filter that starts with a wildcard asks
    /// every partition, except '$' ones, which such a filter never matches [MQTT-4.7.2-1].
    /// </summary>
    private async Task<MqttMessage[]> FindRetainedAsync(string filter)
    {
        var partition = Topic.PartitionKey(filter);
        if (partition != Topic.RootPartition)
        {
            return await GrainFactory.Reference<IRetainedIndexGrain>(partition).Match(filter);
        }

        var partitions = await GrainFactory.Reference<IRetainedPartitionsGrain>(0).List();
        var answers = await Task.WhenAll(partitions
            .Where(p => !p.StartsWith('$'))
            .Select(p => GrainFactory.Reference<IRetainedIndexGrain>(p).Match(filter)));
        return [.. answers.SelectMany(a => a)];
    }
}
