namespace OrleansMqtt.Grains;

/// <summary>
/// The subscribers of one topic, grouped the way messages are routed to them: one target per subscribing session
/// with what its subscriptions grant, and the members of each shared subscription. Built from the exact-topic
/// subscribers and the wildcard answers it was made for; a topic grain keeps it until either changes.
/// </summary>
internal sealed class RoutingPlan
{
    private readonly WildcardMatch[][] _wildcard;

    private RoutingPlan(WildcardMatch[][] wildcard, Target[] targets, (string Filter, SharedMember[] Members)[] shared, int matched)
    {
        _wildcard = wildcard;
        Targets = targets;
        Shared = shared;
        Matched = matched;
    }

    public Target[] Targets { get; }

    /// <summary>Each shared subscription (<c>$share/{group}/{filter}</c>) that matches, with its members.</summary>
    public (string Filter, SharedMember[] Members)[] Shared { get; }

    /// <summary>How many subscriptions match: 0 gives a v5 publisher "no matching subscribers".</summary>
    public int Matched { get; }

    /// <summary>True while the wildcard answers are the very ones the plan was built from.</summary>
    public bool IsFor(WildcardMatch[][] wildcard)
    {
        if (wildcard.Length != _wildcard.Length)
        {
            return false;
        }

        for (var i = 0; i < wildcard.Length; i++)
        {
            if (!ReferenceEquals(wildcard[i], _wildcard[i]))
            {
                return false;
            }
        }

        return true;
    }

    public static RoutingPlan Build(Dictionary<string, Subscriber> exact, WildcardMatch[][] wildcard, string topic, IGrainFactory grains)
    {
        var builders = new Dictionary<string, TargetBuilder>(StringComparer.Ordinal);
        var shared = new Dictionary<string, List<Subscriber>>(StringComparer.Ordinal);
        var matched = exact.Count;
        foreach (var subscriber in exact.Values)
        {
            Collect(builders, shared, topic, subscriber);
        }

        foreach (var partition in wildcard)
        {
            matched += partition.Length;
            foreach (var match in partition)
            {
                Collect(builders, shared, match.Filter, match.Subscriber);
            }
        }

        var targets = builders.Select(b => b.Value.Build(b.Key, grains)).ToArray();
        return new RoutingPlan(wildcard, targets, [.. shared.Select(s => (s.Key, s.Value.Select(m => new SharedMember(m, grains.Reference<ISessionGrain>(m.ClientId))).ToArray()))], matched);
    }

    private static void Collect(Dictionary<string, TargetBuilder> targets, Dictionary<string, List<Subscriber>> shared, string filter, Subscriber subscriber)
    {
        if (subscriber.ShareGroup is { } group)
        {
            var key = $"$share/{group}/{filter}";
            if (!shared.TryGetValue(key, out var members))
            {
                shared[key] = members = [];
            }

            members.Add(subscriber);
            return;
        }

        if (!targets.TryGetValue(subscriber.ClientId, out var target))
        {
            targets[subscriber.ClientId] = target = new TargetBuilder();
        }

        target.All.Add(subscriber);
        if (!subscriber.NoLocal)
        {
            target.Remote.Add(subscriber);
        }
    }

    /// <summary>
    /// One subscribing session. Each session gets one copy of a message, at the highest QoS of its matching
    /// subscriptions, with every matching subscription identifier (3.3.4); RETAIN is kept only where a subscription
    /// asks Retain As Published [MQTT-3.3.1-9, 3.3.1-12]. No Local subscriptions are left out for the session's own
    /// messages [MQTT-3.8.3-3].
    /// </summary>
    internal sealed class Target(string clientId, ISessionGrain session, Grant all, Grant? remote)
    {
        public ISessionGrain Session { get; } = session;

        public RoutedMessage? Route(MqttMessage message)
        {
            var grant = message.PublisherId == clientId ? remote : all;
            return grant is { } g ? new RoutedMessage(message, Math.Min(message.Qos, g.Qos), message.Retain && g.RetainAsPublished, g.SubscriptionIds) : null;
        }
    }

    /// <summary>A member of a shared subscription, with its session's grain reference.</summary>
    internal readonly record struct SharedMember(Subscriber Subscriber, ISessionGrain Session);

    internal sealed record Grant(byte Qos, bool RetainAsPublished, uint[]? SubscriptionIds)
    {
        public static Grant? Of(List<Subscriber> subscriptions)
        {
            if (subscriptions.Count == 0)
            {
                return null;
            }

            byte qos = 0;
            var retain = false;
            List<uint>? ids = null;
            foreach (var subscription in subscriptions)
            {
                qos = Math.Max(qos, subscription.MaximumQos);
                retain |= subscription.RetainAsPublished;
                if (subscription.SubscriptionIdentifier is { } id)
                {
                    (ids ??= []).Add(id);
                }
            }

            return new Grant(qos, retain, ids?.ToArray());
        }
    }

    private sealed class TargetBuilder
    {
        public List<Subscriber> All { get; } = [];

        public List<Subscriber> Remote { get; } = [];

        public Target Build(string clientId, IGrainFactory grains)
        {
            var all = Grant.Of(All)!;
            var remote = Remote.Count == All.Count ? all : Grant.Of(Remote);
            return new Target(clientId, grains.Reference<ISessionGrain>(clientId), all, remote);
        }
    }
}
