using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;

namespace OrleansMqtt.Grains;

/// <summary>
/// Grain storage in memory, the embedded broker's default: each record, in the Orleans binary format, lives in one
/// of <see cref="Partitions"/> <see cref="MemoryStateGrain"/>s spread over the cluster's silos, keyed by state name
/// and grain id, with a counter for an ETag. A cleared record is gone: Orleans' own memory provider keeps a key and
/// an ETag for every record ever deleted, which would grow without end with the client ids of parked sessions. As
/// with any memory storage, a partition's records are lost with its silo.
/// </summary>
public sealed class MemoryStateStorage(IGrainFactory grains, Serializer serializer) : IGrainStorage
{
    public const int Partitions = 16;

    public static void Add(IServiceCollection services, string name) =>
        services.AddGrainStorage(name, static (sp, _) => new MemoryStateStorage(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<Serializer>()));

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var record = await Partition(grainId).Read(stateName, grainId);
        if (record is null)
        {
            (grainState.State, grainState.ETag, grainState.RecordExists) = (Activator.CreateInstance<T>(), null, false);
            return;
        }

        var state = serializer.Deserialize<T>(record.Data) ?? Activator.CreateInstance<T>();
        (grainState.State, grainState.ETag, grainState.RecordExists) = (state, ETagText(record.ETag), true);
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        // As the Azure providers write it (PooledGrainStorageSerializer says why that way).
        var data = PooledGrainStorageSerializer.SerializeToArray(serializer, grainState.State);
        try
        {
            var etag = await Partition(grainId).Write(stateName, grainId, data, ETagOf(grainState.ETag));
            (grainState.ETag, grainState.RecordExists) = (ETagText(etag), true);
        }
        catch (MemoryStateConflictException conflict)
        {
            throw conflict.ToInconsistentState();
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            await Partition(grainId).Delete(stateName, grainId, ETagOf(grainState.ETag));
        }
        catch (MemoryStateConflictException conflict)
        {
            throw conflict.ToInconsistentState();
        }

        (grainState.State, grainState.ETag, grainState.RecordExists) = (Activator.CreateInstance<T>(), null, false);
    }

    /// <summary>The partition that holds the records of <paramref name="grainId"/>.</summary>
    public static int PartitionOf(GrainId grainId) => (int)(grainId.GetUniformHashCode() % Partitions);

    private IMemoryStateGrain Partition(GrainId grainId) => grains.Reference<IMemoryStateGrain>(PartitionOf(grainId));

    private static long ETagOf(string? etag) => etag is null ? 0 : long.Parse(etag, CultureInfo.InvariantCulture);

    private static string ETagText(long etag) => etag.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A write or delete against a record that changed since the writer read it. Not an
/// <see cref="InconsistentStateException"/> inside the partition: Orleans deactivates a grain that throws one, and
/// a partition's records live only in its activation. The provider turns it into one for the grain that wrote.
/// </summary>
[GenerateSerializer, Alias("mqtt.MemoryStateConflictException")]
public sealed class MemoryStateConflictException : Exception
{
    public MemoryStateConflictException(string message, long storedETag, long expectedETag) : base(message) => (StoredETag, ExpectedETag) = (storedETag, expectedETag);

    [Id(0)] public long StoredETag { get; private set; }

    [Id(1)] public long ExpectedETag { get; private set; }

    public InconsistentStateException ToInconsistentState() =>
        new(Message, StoredETag.ToString(CultureInfo.InvariantCulture), ExpectedETag.ToString(CultureInfo.InvariantCulture));
}

/// <summary>A stored record: the state in the Orleans binary format, and its ETag.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.MemoryStateRecord")]
public sealed record MemoryStateRecord([property: Id(0)] byte[] Data, [property: Id(1)] long ETag);

[Alias("mqtt.IMemoryStateGrain")]
public interface IMemoryStateGrain : IGrainWithIntegerKey
{
    [ReadOnly, Alias("Read")]
    Task<MemoryStateRecord?> Read(string stateName, GrainId grainId);

    /// <summary>
    /// Stores <paramref name="data"/> if the record's ETag is <paramref name="expectedETag"/> (0: the record must
    /// not exist); returns the new ETag.
    /// </summary>
    [Alias("Write")]
    Task<long> Write(string stateName, GrainId grainId, [Immutable] byte[] data, long expectedETag);

    [Alias("Delete")]
    Task Delete(string stateName, GrainId grainId, long expectedETag);
}

/// <summary>One partition of <see cref="MemoryStateStorage"/>; kept from idle collection, since it is the storage.</summary>
[KeepAlive]
public sealed class MemoryStateGrain : Grain, IMemoryStateGrain
{
    private readonly Dictionary<(string StateName, GrainId GrainId), MemoryStateRecord> _records = [];
    private long _lastETag;

    public Task<MemoryStateRecord?> Read(string stateName, GrainId grainId) =>
        Task.FromResult(_records.GetValueOrDefault((stateName, grainId)));

    public Task<long> Write(string stateName, GrainId grainId, byte[] data, long expectedETag)
    {
        Check(stateName, grainId, expectedETag, "write");
        var etag = ++_lastETag;
        _records[(stateName, grainId)] = new MemoryStateRecord(data, etag);
        return Task.FromResult(etag);
    }

    public Task Delete(string stateName, GrainId grainId, long expectedETag)
    {
        Check(stateName, grainId, expectedETag, "delete");
        _records.Remove((stateName, grainId));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Another activation wrote since this one read: refused. A record that is not there is no conflict, whatever
    /// the caller last saw, since this partition may have been lost with its silo and started empty.
    /// </summary>
    private void Check(string stateName, GrainId grainId, long expectedETag, string operation)
    {
        var current = _records.GetValueOrDefault((stateName, grainId))?.ETag ?? expectedETag;
        if (current != expectedETag)
        {
            throw new MemoryStateConflictException($"Cannot {operation} {stateName} of {grainId}: it was changed meanwhile (ETag {current}, expected {expectedETag})", current, expectedETag);
        }
    }
}
