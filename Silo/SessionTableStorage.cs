using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Silo;

/// <summary>
/// Persistent sessions on Azure Table storage, paged: a session's messages are kept in pages of their own, each an
/// entity written when new messages go into it, and the session's entity (<see cref="SessionRecord"/>) names the
/// messages it holds by sequence number. A group commit writes the pages that got new messages and that small record,
/// in one transaction of the session's partition, so either all of it is stored or none; pages whose every message has
/// been acknowledged go in the same transaction. Writing the whole session on every commit, as Orleans' table storage
/// does, wrote each message about twelve times, and bounded a session by one entity (1 MB).
/// <para>
/// Entities: partition <c>{ServiceId}_{GrainId}</c> and row <c>session</c>, as Orleans' table storage keys them,
/// so a session it stored is read here (and written back paged); pages are rows <c>session~p{number}</c>. A page
/// that no record names (a crash between two writes of a commit too large for one transaction) is ignored and deleted
/// by the next write. Only <see cref="SessionState"/> is stored here.
/// </para>
/// </summary>
public sealed partial class SessionTableStorage(
    string name,
    TableClient table,
    Serializer serializer,
    IOptions<ClusterOptions> cluster,
    ILogger<SessionTableStorage> logger) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private const string FormatProperty = "Format";
    private const int PagedFormat = 2;
    private const string DataProperty = "Data";
    private const string PageMarker = "~p";
    private const string PartsProperty = "Parts";

    // A page larger than an entity (a message of up to Mqtt:MaxPacketSize alone in its page) is kept in parts:
    // rows session~p{number} (with the number of parts) and session~p{number}~{part}.
    private const int PartBytes = (int)Grains.SessionOptions.AzureTableRecordLimit;

    // As Orleans' table storage splits a record: properties of 64 KB, 15 of them.
    private const int ChunkBytes = 64 * 1024;
    private const int MaxChunks = 15;

    // One transaction: at most 100 operations and 4 MiB of request, in which binary properties travel in base64 (a
    // third more); counted here in binary bytes, this leaves room for that and for the request's own bytes.
    private const int MaxOperations = 100;
    private const long MaxTransactionBytes = 2 * 1024 * 1024;

    // What this silo last wrote or read of each activation's session: per IGrainState, which the activation keeps.
    private readonly ConditionalWeakTable<object, StoredPages> _written = [];

    public static void Add(IServiceCollection services, string name, Func<IServiceProvider, TableClient> table) =>
        services.AddGrainStorage(name, (sp, key) => new SessionTableStorage(
            key,
            table(sp),
            sp.GetRequiredService<Serializer>(),
            sp.GetRequiredService<IOptions<ClusterOptions>>(),
            sp.GetRequiredService<ILogger<SessionTableStorage>>()));

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe($"{nameof(SessionTableStorage)}-{name}", ServiceLifecycleStage.ApplicationServices, async cancellation =>
        {
            await table.CreateIfNotExistsAsync(cancellation);
        });

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var (partition, row) = Keys(stateName, grainId);
        TableEntity? header = null;
        var rows = new Dictionary<long, SortedDictionary<int, TableEntity>>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {row} and RowKey lt {row + "~q"}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter))
        {
            if (entity.RowKey == row)
            {
                header = entity;
            }
            else if (PageKey(entity.RowKey, row) is { } key)
            {
                (rows.TryGetValue(key.Number, out var parts) ? parts : rows[key.Number] = [])[key.Part] = entity;
            }
        }

        var written = new StoredPages { NextPage = rows.Count == 0 ? 0 : rows.Keys.Max() + 1 };
        var pages = new List<(long Number, byte[] Data)>();
        foreach (var (number, parts) in rows)
        {
            var count = parts.TryGetValue(0, out var first) ? first.GetInt32(PartsProperty) ?? 1 : 0;
            if (parts.Count > 1 || count > 1)
            {
                written.PartsOf[number] = Math.Max(count, parts.Keys.Max() + 1);
            }

            if (count > 0 && parts.Count == count && parts.Keys.Max() == count - 1)
            {
                pages.Add((number, count == 1 ? ReadData(first!) : [.. parts.Values.SelectMany(ReadData)]));
            }
            else
            {
                // Parts of a page whose writing a crash cut short: no record names it.
                written.Orphans.Add(number);
            }
        }

        SessionState state;
        if (header is null)
        {
            state = new SessionState();
            written.Orphans.UnionWith(pages.Select(p => p.Number));
        }
        else if (header.GetInt32(FormatProperty) == PagedFormat)
        {
            var record = serializer.Deserialize<SessionRecord>(ReadData(header)) ?? throw new InvalidDataException($"The session {grainId} has an empty record in table {table.Name}.");
            int missing;
            (state, missing) = SessionPaging.Rebuild(record, pages, written, serializer);
            if (missing > 0)
            {
                // Cannot happen while pages and record are written as here; said loudly if storage was changed by hand.
                LogMissing(logger, grainId, missing, table.Name);
            }
        }
        else
        {
            // Stored by Orleans' table storage: the whole state in the entity. The next write pages it.
            state = serializer.Deserialize<SessionState>(ReadData(header)) ?? new SessionState();
            written.Orphans.UnionWith(pages.Select(p => p.Number));
        }

        _written.AddOrUpdate(grainState, written);
        grainState.State = (T)(object)state!;
        grainState.RecordExists = header is not null;
        grainState.ETag = header?.ETag.ToString();
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var (partition, row) = Keys(stateName, grainId);
        var written = _written.GetValue(grainState, _ => new StoredPages { Unread = true });
        if (written.Unread)
        {
            // Never read by this activation (Orleans reads first): learn which pages exist, so none is numbered twice.
            await LearnPagesAsync(partition, row, written);
        }

        // Everything is taken from the state before the first await below: the record is the state as it was when
        // the write started, never a mix with changes made while it runs.
        var plan = SessionPaging.Plan(Session(grainState), written, serializer);
        CheckEntitySize(plan.Record, "the session's record");

        var etag = grainState.ETag;
        var transaction = new List<TableTransactionAction>();
        var transactionBytes = (long)plan.Record.Length;
        var before = new List<(List<TableTransactionAction> Actions, long Bytes)>();

        foreach (var (page, entity, bytes) in plan.Pages.SelectMany(page => PageEntities(partition, row, page).Select(e => (page, e.Entity, e.Bytes))))
        {
            if (page.Stored)
            {
                // The open page, taking more messages: always in the transaction with the record.
                transaction.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
                transactionBytes += bytes;
            }
            else if (transaction.Count + 2 > MaxOperations || transactionBytes + bytes > MaxTransactionBytes)
            {
                // Too much for one transaction: new pages go first in transactions of their own. Until the record that
                // names them is stored, nothing reads them; after a crash, the next write deletes them.
                if (before.Count == 0 || before[^1].Actions.Count >= MaxOperations || before[^1].Bytes + bytes > MaxTransactionBytes)
                {
                    before.Add(([], 0));
                }

                before[^1].Actions.Add(new TableTransactionAction(TableTransactionActionType.Add, entity));
                before[^1] = (before[^1].Actions, before[^1].Bytes + bytes);
            }
            else
            {
                transaction.Add(new TableTransactionAction(TableTransactionActionType.Add, entity));
                transactionBytes += bytes;
            }
        }

        var header = Entity(partition, row, plan.Record);
        header[FormatProperty] = PagedFormat;
        var headerIndex = transaction.Count;
        transaction.Add(etag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, header)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, header, new ETag(etag)));

        var deleteLater = new List<long>();
        var deletedNow = new List<long>();
        foreach (var number in plan.Unused)
        {
            // A page this storage wrote has every part; one a crash cut short may lack some, and a transaction
            // that deletes a row not there fails whole: such leftovers go after the commit, one row at a time.
            var pageRows = PageRows(row, number, written).ToList();
            if (!written.Orphans.Contains(number) && transaction.Count + pageRows.Count <= MaxOperations)
            {
                transaction.AddRange(pageRows.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, r), ETag.All)));
                deletedNow.Add(number);
            }
            else
            {
                deleteLater.Add(number);
            }
        }

        try
        {
            foreach (var (actions, _) in before)
            {
                await table.SubmitTransactionAsync(actions);
            }

            var responses = (await table.SubmitTransactionAsync(transaction)).Value;
            grainState.ETag = responses[headerIndex].Headers.ETag?.ToString()
                ?? throw new InvalidOperationException($"Table {table.Name} returned no ETag for the session {grainId}.");
            grainState.RecordExists = true;
            plan.Stored(written);
            foreach (var page in plan.Pages)
            {
                if (Parts(page.Data.Length) > 1)
                {
                    written.PartsOf[page.Number] = Parts(page.Data.Length);
                }
            }

            foreach (var number in deletedNow)
            {
                written.Dropped(number);
            }
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 404 or 409 or 412)
        {
            LogConflict(logger, grainId, etag, ex.Message);
            written.Forget();
            throw new InconsistentStateException($"The session {grainId} was changed or deleted in table {table.Name} by another writer ({ex.Status}): {ex.Message}", "Unknown", etag ?? "", ex);
        }
        catch (Exception ex)
        {
            // What is stored is unknown now: the next write learns which pages exist and writes every message again.
            written.Forget();
            LogWriteFailed(logger, ex, grainId, table.Name);
            throw;
        }

        if (deleteLater.Count > 0)
        {
            await DeleteAsync(partition, row, deleteLater, written);
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var (partition, row) = Keys(stateName, grainId);
        var written = _written.GetValue(grainState, _ => new StoredPages { Unread = true });
        if (written.Unread)
        {
            await LearnPagesAsync(partition, row, written);
        }

        if (grainState.ETag is { } etag)
        {
            try
            {
                await table.DeleteEntityAsync(partition, row, new ETag(etag));
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                throw new InconsistentStateException($"The session {grainId} was changed or deleted in table {table.Name} by another writer ({ex.Status}): {ex.Message}", "Unknown", etag, ex);
            }
        }

        // Without the record nothing reads the pages; a crash before they are deleted leaves them to the next write.
        await DeleteAsync(partition, row, [.. written.Named, .. written.Orphans], written);
        written.Forget();
        grainState.State = (T)(object)new SessionState()!;
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static SessionState Session<T>(IGrainState<T> grainState) =>
        grainState.State as SessionState
        ?? throw new NotSupportedException($"{nameof(SessionTableStorage)} stores sessions ({nameof(SessionState)}), not {typeof(T).Name}.");

    private async Task LearnPagesAsync(string partition, string row, StoredPages written)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {row} and RowKey lt {row + "~q"}");
        var existing = new List<long>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["RowKey"]))
        {
            if (PageKey(entity.RowKey, row) is { } key)
            {
                existing.Add(key.Number);
                if (key.Part > 0)
                {
                    written.PartsOf[key.Number] = Math.Max(written.PartsOfPage(key.Number), key.Part + 1);
                }
            }
        }

        existing = [.. existing.Distinct()];

        // Pages it knows are kept as they are; any other is a leftover, deleted with the next write.
        written.Orphans.UnionWith(existing.Except(written.Named));

        written.NextPage = Math.Max(written.NextPage, existing.Count == 0 ? 0 : existing.Max() + 1);
        written.Open = null;
        written.Unread = false;
    }

    private async Task DeleteAsync(string partition, string row, IReadOnlyCollection<long> numbers, StoredPages written)
    {
        foreach (var number in numbers)
        {
            try
            {
                // The first part, which says how many there are, goes last.
                foreach (var pageRow in PageRows(row, number, written).Reverse())
                {
                    try
                    {
                        await table.DeleteEntityAsync(partition, pageRow, ETag.All);
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404)
                    {
                    }
                }

                written.Orphans.Remove(number);
                written.Dropped(number);
            }
            catch (RequestFailedException ex)
            {
                // Harmless while it stays: no record names it. The next write tries again.
                written.Orphans.Add(number);
                LogDeleteFailed(logger, partition, number, ex.Message);
            }
        }
    }

    private static void CheckEntitySize(byte[] data, string what)
    {
        if (data.Length > ChunkBytes * MaxChunks)
        {
            throw new ArgumentOutOfRangeException(nameof(data), $"Cannot store {what}: {data.Length} bytes, more than a table entity holds ({ChunkBytes * MaxChunks}).");
        }
    }

    private static TableEntity Entity(string partition, string row, byte[] data)
    {
        var entity = new TableEntity(partition, row);
        for (int offset = 0, i = 0; offset < data.Length; offset += ChunkBytes, i++)
        {
            entity[i == 0 ? DataProperty : DataProperty + i.ToString(CultureInfo.InvariantCulture)] = data.AsSpan(offset, Math.Min(ChunkBytes, data.Length - offset)).ToArray();
        }

        return entity;
    }

    /// <summary>The binary properties <c>Data</c>, <c>Data1</c>…<c>Data14</c>, joined (as Orleans' table storage writes them).</summary>
    private static byte[] ReadData(TableEntity entity)
    {
        var chunks = new List<byte[]>();
        for (var i = 0; i < MaxChunks; i++)
        {
            var property = i == 0 ? DataProperty : DataProperty + i.ToString(CultureInfo.InvariantCulture);
            switch (entity.TryGetValue(property, out var value) ? value : null)
            {
                case byte[] { Length: > 0 } bytes:
                    chunks.Add(bytes);
                    break;
                case string { Length: > 0 } text:
                    chunks.Add(Convert.FromBase64String(text));
                    break;
            }
        }

        return chunks.Count == 1 ? chunks[0] : [.. chunks.SelectMany(c => c)];
    }

    private (string Partition, string Row) Keys(string stateName, GrainId grainId) =>
        (Sanitize($"{cluster.Value.ServiceId}_{grainId}"), Sanitize(stateName));

    private static string PageRow(string row, long number) => row + PageMarker + number.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>The rows of a page: its first part, then any others.</summary>
    private static IEnumerable<string> PageRows(string row, long number, StoredPages written)
    {
        yield return PageRow(row, number);
        for (var part = 1; part < written.PartsOfPage(number); part++)
        {
            yield return PageRow(row, number) + "~" + part.ToString("D4", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The page and part a row holds (<c>session~p{number}</c>, <c>session~p{number}~{part}</c>), or null.</summary>
    private static (long Number, int Part)? PageKey(string rowKey, string row)
    {
        if (rowKey.Length <= row.Length + PageMarker.Length || !rowKey.AsSpan(row.Length).StartsWith(PageMarker))
        {
            return null;
        }

        var rest = rowKey.AsSpan(row.Length + PageMarker.Length);
        var split = rest.IndexOf('~');
        var part = 0;
        if (split >= 0 && (!int.TryParse(rest[(split + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out part) || part == 0))
        {
            return null;
        }

        return long.TryParse(split >= 0 ? rest[..split] : rest, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? (number, part) : null;
    }

    private static int Parts(int bytes) => Math.Max(1, (bytes + PartBytes - 1) / PartBytes);

    /// <summary>A page's entities: one, or its parts when it is larger than an entity holds, each with its bytes.</summary>
    private static IEnumerable<(TableEntity Entity, int Bytes)> PageEntities(string partition, string row, PagePlan page)
    {
        var parts = Parts(page.Data.Length);
        if (parts == 1)
        {
            yield return (Entity(partition, PageRow(row, page.Number), page.Data), page.Data.Length);
            yield break;
        }

        for (var part = 0; part < parts; part++)
        {
            var offset = part * PartBytes;
            var data = page.Data.AsSpan(offset, Math.Min(PartBytes, page.Data.Length - offset)).ToArray();
            var entity = Entity(partition, part == 0 ? PageRow(row, page.Number) : PageRow(row, page.Number) + "~" + part.ToString("D4", CultureInfo.InvariantCulture), data);
            if (part == 0)
            {
                entity[PartsProperty] = parts;
            }

            yield return (entity, data.Length);
        }
    }

    /// <summary>As Orleans' table storage makes keys: characters a key cannot hold become <c>_</c>.</summary>
    private static string Sanitize(string key) => key.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');

    [LoggerMessage(Level = LogLevel.Warning, Message = "The session {GrainId} was not written: its record changed or went since it was read (ETag {ETag}): {Error}")]
    private static partial void LogConflict(ILogger logger, GrainId grainId, string? etag, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The session {GrainId} could not be written to table {Table}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, GrainId grainId, string table);

    [LoggerMessage(Level = LogLevel.Error, Message = "The session {GrainId} names {Missing} messages that are in none of its pages in table {Table}: they are counted as dropped")]
    private static partial void LogMissing(ILogger logger, GrainId grainId, int missing, string table);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete page {Page} of {Partition}; the next write tries again: {Error}")]
    private static partial void LogDeleteFailed(ILogger logger, string partition, long page, string error);
}
