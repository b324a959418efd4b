namespace OrleansMqtt.Grains;

/// <summary>
/// Which sessions exist, for operators: partitioned by client id over <see cref="SessionDirectory.Partitions"/>
/// grains, told by each session when it connects, disconnects, changes its subscriptions or ends (one-way calls,
/// off the message path). Held in memory: after a restart of the silo that hosts a partition, its offline
/// sessions reappear there as they are next activated (connect, delivery).
/// </summary>
[Alias("mqtt.ISessionDirectoryGrain")]
public interface ISessionDirectoryGrain : IGrainWithIntegerKey
{
    [OneWay, Alias("Update")]
    Task Update(SessionEntry entry);

    /// <summary>Up to <paramref name="limit"/> entries after <paramref name="after"/> in client id order, whose id contains <paramref name="search"/>.</summary>
    [ReadOnly, Alias("Search")]
    Task<SessionEntry[]> Search(string? search, bool? connected, string? after, int limit);

    [ReadOnly, Alias("Count")]
    Task<DirectoryCounts> Count();
}

/// <summary>A session as the directory knows it; <see cref="Exists"/> false removes it.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.SessionEntry")]
public sealed record SessionEntry(
    [property: Id(0)] string ClientId,
    [property: Id(1)] bool Exists,
    [property: Id(2)] bool Connected,
    [property: Id(3)] string? GatewayId,
    [property: Id(4)] bool Persistent,
    [property: Id(5)] int Subscriptions,
    [property: Id(6)] DateTime UpdatedUtc);

[GenerateSerializer, Immutable, Alias("mqtt.DirectoryCounts")]
public sealed record DirectoryCounts(
    [property: Id(0)] long Online,
    [property: Id(1)] long OfflinePersistent,
    [property: Id(2)] long Subscriptions);

public static class SessionDirectory
{
    public const int Partitions = 8;

    /// <summary>The partition of a client id: a stable hash (string.GetHashCode differs between processes).</summary>
    public static int PartitionOf(string clientId)
    {
        var hash = 2166136261u;
        foreach (var c in clientId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Partitions);
    }

    public static ISessionDirectoryGrain For(IGrainFactory grains, string clientId) => grains.Reference<ISessionDirectoryGrain>(PartitionOf(clientId));
}
