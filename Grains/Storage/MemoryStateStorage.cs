using System.Globalization;
using System.Runtime.CompilerServices;
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

    // What is stored of each activation's session, as far as this silo knows: per IGrainState, which the activation keeps.
    private readonly ConditionalWeakTable<object, StoredPages> _stored = [];

    public static void Add(IServiceCollection services, string name) =>
        services.AddGrainStorage(name, static (sp, _) => new MemoryStateStorage(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<Serializer>()));

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var record = await Partition(grainId).Read(stateName, grainId);
        if (grainState is IGrainState<SessionState> session && record is not null)
        {
            // A record without pages holds the whole state: a session without messages, or one a build before wrote.
            var stored = new StoredPages();
            session.State = record.Pages is { } pages
                ? SessionPaging.Rebuild(serializer.Deserialize<SessionRecord>(record.Data) ?? throw new InvalidDataException($"The session {grainId} has an empty record."), pages.Select(p => (p.Number, p.Data)), stored, serializer).State
                : serializer.Deserialize<SessionState>(record.Data) ?? new SessionState();
            (grainState.ETag, grainState.RecordExists) = (ETagText(record.ETag), true);
            if (session.State is not { InFlightCount: 0, QueueCount: 0 })
            {
                // What is stored is kept in mind only for a session that holds messages: the others are written whole.
                _stored.AddOrUpdate(session, stored);
            }

            return;
        }

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
        try
        {
            if (grainState is IGrainState<SessionState> session)
            {
                await WriteSessionAsync(stateName, grainId, session);
                return;
            }

            // As the Azure providers write it (PooledGrainStorageSerializer says why that way).
            var data = PooledGrainStorageSerializer.SerializeToArray(serializer, grainState.State);
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

        if (_stored.TryGetValue(grainState, out var stored))
        {
            stored.Forget();
        }

        (grainState.State, grainState.ETag, grainState.RecordExists) = (Activator.CreateInstance<T>(), null, false);
    }

    /// <summary>
    /// A session that holds messages is paged (<see cref="SessionPaging"/>): a commit sends its record and the pages
    /// that got new messages, not every message it holds, which made each commit of a session with a deep queue cost
    /// the whole queue.
    /// </summary>
    private async Task WriteSessionAsync(string stateName, GrainId grainId, IGrainState<SessionState> session)
    {
        var state = session.State ?? throw new InvalidOperationException($"The session {grainId} has no state to write.");
        var partition = Partition(grainId);
        if (state is { InFlightCount: 0, QueueCount: 0 })
        {
            // No messages (most sessions, parked ones above all): the state is small, and written whole; a whole
            // record replaces any pages the session had.
            var data = PooledGrainStorageSerializer.SerializeToArray(serializer, state);
            (session.ETag, session.RecordExists) = (ETagText(await partition.Write(stateName, grainId, data, ETagOf(session.ETag))), true);
            _stored.Remove(session);
            return;
        }

        if (!_stored.TryGetValue(session, out var stored))
        {
            // Not known (nothing read, or the session held no messages): this commit writes every message it holds,
            // and the partition drops any other page of the session.
            stored = new StoredPages { Unread = true };
        }

        try
        {
            // The plan is the state as it is now, before the first await: never a mix with changes made meanwhile.
            var plan = SessionPaging.Plan(state, stored, serializer);
            var etag = await partition.WritePaged(stateName, grainId, plan.Record, Pages(plan), [.. plan.Unused], plan.ReplacesAll, ETagOf(session.ETag));
            if (etag == 0)
            {
                // The partition lacks pages this session wrote: it started empty after its silo was lost. Everything
                // the session holds goes again, as a whole write would have sent it.
                stored.Forget();
                plan = SessionPaging.Plan(state, stored, serializer);
                etag = await partition.WritePaged(stateName, grainId, plan.Record, Pages(plan), [.. plan.Unused], plan.ReplacesAll, ETagOf(session.ETag));
            }

            plan.Stored(stored);
            (session.ETag, session.RecordExists) = (ETagText(etag), true);
            _stored.AddOrUpdate(session, stored);
        }
        catch
        {
            // What is stored is unknown: the next write sends every message again.
            stored.Forget();
            throw;
        }
    }

    private static MemoryPage[] Pages(SessionWritePlan plan) => [.. plan.Pages.Select(p => new MemoryPage(p.Number, p.Data))];

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

/// <summary>
/// A stored record: the state in the Orleans binary format, and its ETag. A paged session's record is its
/// <see cref="SessionRecord"/>, and its messages are in <see cref="Pages"/> (null: the state is whole in <see cref="Data"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.MemoryStateRecord")]
public sealed record MemoryStateRecord([property: Id(0)] byte[] Data, [property: Id(1)] long ETag, [property: Id(2)] MemoryPage[]? Pages = null);

/// <summary>A page of a paged session's messages (<see cref="SessionPage"/>), by its number.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.MemoryPage")]
public sealed record MemoryPage([property: Id(0)] long Number, [property: Id(1)] byte[] Data);

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

    /// <summary>
    /// Stores a paged session's <paramref name="record"/> and <paramref name="pages"/> if the record's ETag is
    /// <paramref name="expectedETag"/>, and drops its pages <paramref name="unused"/> (with
    /// <paramref name="replacesAll"/>, every page not written now); all in one turn, so a reader sees the commit whole
    /// or not at all. Returns the new ETag, or 0 with nothing stored when the writer wrote the record before and it is
    /// not here: the partition started empty since (its silo was lost), and only a write of every message restores it.
    /// </summary>
    [Alias("WritePaged")]
    Task<long> WritePaged(string stateName, GrainId grainId, [Immutable] byte[] record, [Immutable] MemoryPage[] pages, [Immutable] long[] unused, bool replacesAll, long expectedETag);

    [Alias("Delete")]
    Task Delete(string stateName, GrainId grainId, long expectedETag);
}

/// <summary>One partition of <see cref="MemoryStateStorage"/>; kept from idle collection, since it is the storage.</summary>
[KeepAlive]
public sealed class MemoryStateGrain : Grain, IMemoryStateGrain
{
    private readonly Dictionary<(string StateName, GrainId GrainId), Entry> _records = [];
    private long _lastETag;

    public Task<MemoryStateRecord?> Read(string stateName, GrainId grainId) =>
        Task.FromResult(_records.GetValueOrDefault((stateName, grainId)) is { } entry
            ? new MemoryStateRecord(entry.Data, entry.ETag, entry is PagedEntry paged ? [.. paged.Pages.Select(p => new MemoryPage(p.Key, p.Value))] : null)
            : null);

    public Task<long> Write(string stateName, GrainId grainId, byte[] data, long expectedETag)
    {
        Check(stateName, grainId, expectedETag, "write");
        var etag = ++_lastETag;
        _records[(stateName, grainId)] = new Entry(data, etag);
        return Task.FromResult(etag);
    }

    public Task<long> WritePaged(string stateName, GrainId grainId, byte[] record, MemoryPage[] pages, long[] unused, bool replacesAll, long expectedETag)
    {
        Check(stateName, grainId, expectedETag, "write");
        var key = (stateName, grainId);
        var entry = _records.GetValueOrDefault(key);
        if (entry is null && expectedETag != 0 && !replacesAll)
        {
            return Task.FromResult(0L);
        }

        if (entry is not PagedEntry paged || replacesAll)
        {
            _records[key] = paged = new PagedEntry(record, 0);
        }

        foreach (var number in unused)
        {
            paged.Pages.Remove(number);
        }

        foreach (var page in pages)
        {
            paged.Pages[page.Number] = page.Data;
        }

        paged.Data = record;
        paged.ETag = ++_lastETag;
        return Task.FromResult(paged.ETag);
    }

    public Task Delete(string stateName, GrainId grainId, long expectedETag)
    {
        Check(stateName, grainId, expectedETag, "delete");
        _records.Remove((stateName, grainId));
        return Task.CompletedTask;
    }

    /// <summary>A record as kept here: the whole state (most records, parked sessions above all).</summary>
    private class Entry(byte[] data, long etag)
    {
        public byte[] Data { get; set; } = data;

        public long ETag { get; set; } = etag;
    }

    /// <summary>A paged session's record, which names its messages, and its pages by number.</summary>
    private sealed class PagedEntry(byte[] data, long etag) : Entry(data, etag)
    {
        public Dictionary<long, byte[]> Pages { get; } = [];
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
