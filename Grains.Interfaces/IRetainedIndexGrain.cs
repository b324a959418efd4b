namespace OrleansMqtt.Grains;

/// <summary>
/// Retained messages of one partition (the topic's first level), so a wildcard SUBSCRIBE reaches the retained
/// messages it matches without visiting every topic grain. The topic grain stays the authority; this is its index.
/// </summary>
[Alias("mqtt.IRetainedIndexGrain")]
public interface IRetainedIndexGrain : IGrainWithStringKey
{
    /// <summary>Sets or (with null) clears the retained message of <paramref name="topic"/>.</summary>
    [Alias("Set")]
    Task Set(string topic, MqttMessage? message);

    [Alias("Match")]
    Task<MqttMessage[]> Match(string filter);
}

/// <summary>The partitions that hold retained messages, for filters that start with a wildcard. Key 0.</summary>
[Alias("mqtt.IRetainedPartitionsGrain")]
public interface IRetainedPartitionsGrain : IGrainWithIntegerKey
{
    [Alias("Add")]
    Task Add(string partition);

    [Alias("Remove")]
    Task Remove(string partition);

    [Alias("List")]
    Task<string[]> List();
}
