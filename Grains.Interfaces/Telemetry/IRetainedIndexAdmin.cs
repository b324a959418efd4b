namespace OrleansMqtt.Grains;

/// <summary>The administrative view of a retained-index partition (same grain as <see cref="IRetainedIndexGrain"/>).</summary>
[Alias("mqtt.IRetainedIndexAdmin")]
public interface IRetainedIndexAdmin : IGrainWithStringKey
{
    /// <summary>Up to <paramref name="limit"/> retained messages after <paramref name="after"/> in topic order, whose topic starts with <paramref name="prefix"/>.</summary>
    [ReadOnly, Alias("ListRetained")]
    Task<RetainedEntry[]> ListRetained(string? prefix, string? after, int limit);

    [ReadOnly, Alias("CountRetained")]
    Task<int> CountRetained();
}

[GenerateSerializer, Immutable, Alias("mqtt.RetainedEntry")]
public sealed record RetainedEntry(
    [property: Id(0)] string Topic,
    [property: Id(1)] byte Qos,
    [property: Id(2)] int PayloadBytes,
    [property: Id(3)] string Payload,
    [property: Id(4)] DateTime? ExpiresAtUtc);
