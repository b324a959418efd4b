namespace OrleansMqtt.Grains;

/// <summary>A subscriber as the routing index sees it: whose it is and its options.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.Subscriber")]
public sealed record Subscriber(
    [property: Id(0)] string ClientId,
    [property: Id(1)] byte MaximumQos,
    [property: Id(2)] bool NoLocal,
    [property: Id(3)] bool RetainAsPublished,
    [property: Id(4)] uint? SubscriptionIdentifier);

/// <summary>A wildcard subscription that matches a topic.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.WildcardMatch")]
public sealed record WildcardMatch([property: Id(0)] string Filter, [property: Id(1)] Subscriber Subscriber);

/// <summary>A partition's answer for one topic and the partition version it reflects.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.WildcardMatches")]
public sealed record WildcardMatches([property: Id(0)] long Version, [property: Id(1)] WildcardMatch[] Matches);
