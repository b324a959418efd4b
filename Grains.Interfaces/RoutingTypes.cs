namespace OrleansMqtt.Grains;

/// <summary>
/// A subscriber as the routing index sees it: whose it is and its options. <see cref="ShareGroup"/> is set for a
/// shared subscription (<c>$share/{group}/{filter}</c>): each message goes to one member of the group.
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.Subscriber")]
public sealed record Subscriber(
    [property: Id(0)] string ClientId,
    [property: Id(1)] byte MaximumQos,
    [property: Id(2)] bool NoLocal,
    [property: Id(3)] bool RetainAsPublished,
    [property: Id(4)] uint? SubscriptionIdentifier,
    [property: Id(5)] string? ShareGroup = null)
{
    /// <summary>Where the index keeps it: one client may hold a plain and several shared subscriptions to one filter.</summary>
    public string Key => SubscriberKey.Of(ClientId, ShareGroup);
}

public static class SubscriberKey
{
    public static string Of(string clientId, string? shareGroup) => shareGroup is null ? clientId : $"$share/{shareGroup}/{clientId}";
}

/// <summary>A wildcard subscription that matches a topic.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.WildcardMatch")]
public sealed record WildcardMatch([property: Id(0)] string Filter, [property: Id(1)] Subscriber Subscriber);

/// <summary>A partition's answer for one topic and the partition version it reflects.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.WildcardMatches")]
public sealed record WildcardMatches([property: Id(0)] long Version, [property: Id(1)] WildcardMatch[] Matches);
