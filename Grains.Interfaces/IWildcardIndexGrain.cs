namespace OrleansMqtt.Grains;

/// <summary>
/// One partition of the wildcard subscription index, keyed by the filter's first level (filters that start with a
/// wildcard live in the root partition). Remembers which topic grains cached an answer and tells them when it changes.
/// </summary>
[Alias("mqtt.IWildcardIndexGrain")]
public interface IWildcardIndexGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds or replaces a subscription. Interleaves, so that the subscriptions of many clients share storage writes
    /// (a fleet whose devices each subscribe to <c>fleet/{id}/cmd/#</c>: one partition).
    /// </summary>
    [AlwaysInterleave, Alias("Subscribe")]
    Task Subscribe(string filter, Subscriber subscriber);

    [AlwaysInterleave, Alias("Unsubscribe")]
    Task<bool> Unsubscribe(string filter, string clientId, string? shareGroup);

    /// <summary>The subscriptions matching <paramref name="topic"/>; the topic grain is told when they change.</summary>
    [AlwaysInterleave, Alias("Match")]
    Task<WildcardMatches> Match(string topic);

    /// <summary>The topic grain no longer caches this partition's answer.</summary>
    [AlwaysInterleave, Alias("Forget")]
    Task Forget(string topic);
}
