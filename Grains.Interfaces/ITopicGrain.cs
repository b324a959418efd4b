namespace OrleansMqtt.Grains;

/// <summary>
/// One per topic name: the retained message and the subscribers of that exact topic. Publishing asks at most two
/// wildcard-index partitions for their matches and caches the answers until a partition says they changed.
/// </summary>
[Alias("mqtt.ITopicGrain")]
public interface ITopicGrain : IGrainWithStringKey
{
    /// <summary>
    /// Routes messages published to this topic, in order. Returns when every QoS 1/2 copy is held by its session.
    /// The result is how many subscriptions matched (v5 PUBACK says 0x10 when none).
    /// </summary>
    [Alias("Publish")]
    Task<int> Publish(MqttMessage[] messages);

    /// <summary>
    /// Adds or replaces an exact-topic subscription; returns the retained message, if any. Interleaves, so that the
    /// subscriptions of many clients to one topic share storage writes (a fleet's broadcast topic).
    /// </summary>
    [AlwaysInterleave, Alias("Subscribe")]
    Task<MqttMessage?> Subscribe(Subscriber subscriber);

    [AlwaysInterleave, Alias("Unsubscribe")]
    Task<bool> Unsubscribe(string clientId, string? shareGroup);

    /// <summary>
    /// A message that a member of shared subscription <paramref name="sharedFilter"/> (<c>$share/{group}/{filter}</c>)
    /// held when its session ended goes to another member instead of being lost.
    /// </summary>
    [Alias("RedeliverShared")]
    Task RedeliverShared(string sharedFilter, MqttMessage message, string formerMember);

    [Alias("GetRetained")]
    Task<MqttMessage?> GetRetained();

    /// <summary>A wildcard partition's subscriptions that match this topic changed.</summary>
    [AlwaysInterleave, Alias("WildcardMatchesChanged")]
    Task WildcardMatchesChanged(string partition, long version);
}
