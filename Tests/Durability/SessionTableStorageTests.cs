using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using OrleansMqtt.Grains;
using OrleansMqtt.Silo;
using Orleans.Storage;
using OrleansMqtt.Tests.Infrastructure;
using static OrleansMqtt.Tests.Infrastructure.StoredSessions;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// Persistent sessions on Azure Table storage (Azurite), paged: the session's record names its messages and the
/// messages live in pages, so a write stores what changed and a session is not bound by one entity.
/// </summary>
public sealed class SessionTableStorageTests
{
    private const string StateName = StoredSessions.StateName;

    [Fact]
    public async Task A_session_reads_back_as_written_its_in_flight_and_queued_messages_in_order()
    {
        var (storage, table, grainId) = await StorageAsync();
        var written = await NewSessionAsync(storage, grainId);
        HoldBacklog(written.State, 16);
        await storage.WriteStateAsync(StateName, grainId, written);
        AssertBacklog(written, await ReadAsync(table, grainId));
    }

    [Fact]
    public async Task A_write_stores_the_new_messages_and_the_small_record_not_every_message_again()
    {
        var (storage, table, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);

        // 1,000 messages of 1 KB held: over 1 MB, more than one entity takes.
        grainState.State.Queue.AddRange(Enumerable.Range(0, 1000).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var pagesBefore = await RowsAsync(table, grainId);

        // One more: one page is written (the open one or a new one) and the record; the others stay as they are.
        grainState.State.Queue.Add(Message("t", 1000, 1000));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var pagesAfter = await RowsAsync(table, grainId);
        var changed = pagesAfter.Where(p => !pagesBefore.TryGetValue(p.Key, out var before) || before.ETag != p.Value.ETag).Select(p => p.Key).ToList();
        Assert.Equal(2, changed.Count);
        Assert.Contains(StateName, changed);
        Assert.InRange(Size(pagesAfter[StateName]), 1, 20 * 1024);
        Assert.All(pagesAfter.Values, e => Assert.InRange(Size(e), 1, SessionPaging.PageBytes + 4096));

        // All acknowledged but the last: the pages that hold none of them go, in the same write.
        grainState.State.Queue.RemoveRange(0, 1000);
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var left = await RowsAsync(table, grainId);
        Assert.Equal(2, left.Count);
        Assert.Equal([1000], (await ReadAsync(table, grainId)).State.Queue.Select(Number));
    }

    [Fact]
    public async Task A_commit_larger_than_one_transaction_is_stored_and_read_back_whole()
    {
        var (storage, table, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);

        // 480 messages of 12 KB (5.6 MB, about 200 pages): more than one transaction's 100 entities and 4 MB.
        grainState.State.Queue.AddRange(Enumerable.Range(0, 480).Select(i => Message("big", i, 12 * 1024)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        Assert.InRange((await RowsAsync(table, grainId)).Count, 101, 400);

        var read = await ReadAsync(table, grainId);
        Assert.Equal(Enumerable.Range(0, 480), read.State.Queue.Select(Number));
        Assert.All(read.State.Queue, m => Assert.Equal(12 * 1024, m.Message.Payload.Length));
    }

    [Fact]
    public async Task A_session_stored_whole_by_the_table_storage_before_is_read_and_then_written_paged()
    {
        var (storage, table, grainId) = await StorageAsync();

        // As Orleans' table storage wrote it: the whole state, binary, in property Data, keyed the same way.
        var old = new SessionState { Exists = true, SessionExpiryInterval = 60, LastPacketId = 3 };
        old.InFlight.Add(new InFlightMessage { PacketId = 3, Message = Message("old/t", 0) });
        old.Queue.AddRange(Enumerable.Range(1, 20).Select(i => Message("old/t", i)));
        var (partition, row) = Keys(grainId);
        await table.AddEntityAsync(new TableEntity(partition, row) { ["Data"] = PooledGrainStorageSerializer.SerializeToArray(StateSerializer, old) });

        var grainState = await StoredSessions.ReadAsync(storage, grainId);
        Assert.True(grainState.RecordExists);
        Assert.Equal(Enumerable.Range(0, 21), grainState.State.InFlight.Select(m => m.Message).Concat(grainState.State.Queue).Select(Number));

        grainState.State.Queue.Add(Message("old/t", 21));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var rows = await RowsAsync(table, grainId);
        Assert.Equal(2, rows[StateName].GetInt32("Format"));
        Assert.True(rows.Count >= 2, "the messages went to pages");
        var read = await ReadAsync(table, grainId);
        Assert.Equal(3, read.State.InFlight[0].PacketId);
        Assert.Equal(Enumerable.Range(0, 22), read.State.InFlight.Select(m => m.Message).Concat(read.State.Queue).Select(Number));
    }

    [Fact]
    public async Task A_page_no_record_names_is_ignored_and_deleted_by_the_next_write()
    {
        var (storage, table, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);
        grainState.State.Queue.Add(Message("t", 0));
        await storage.WriteStateAsync(StateName, grainId, grainState);

        // A page left by a crash between the pages of a large commit and its record, or by a writer whose record was
        // refused: messages nobody was told of, one under a sequence number the record names.
        var (partition, row) = Keys(grainId);
        var leftover = new SessionPage { Sequences = [0, 501], Messages = [Message("t", 999), Message("t", 501)] };
        await table.AddEntityAsync(new TableEntity(partition, row + "~p000000000900") { ["Data"] = PooledGrainStorageSerializer.SerializeToArray(StateSerializer, leftover) });

        // And a page in parts whose writing was cut short: its first part says 3, the second never came.
        await table.AddEntityAsync(new TableEntity(partition, row + "~p000000000901") { ["Data"] = new byte[] { 1, 2, 3 }, ["Parts"] = 3 });
        await table.AddEntityAsync(new TableEntity(partition, row + "~p000000000901~0002") { ["Data"] = new byte[] { 4 } });

        var restarted = await StoredSessions.ReadAsync(storage, grainId);
        Assert.Equal([0], restarted.State.Queue.Select(Number));

        restarted.State.Queue.Add(Message("t", 1));
        await storage.WriteStateAsync(StateName, grainId, restarted);
        var rows = await RowsAsync(table, grainId);
        Assert.DoesNotContain(row + "~p000000000900", rows.Keys);
        Assert.DoesNotContain(rows.Keys, k => k.StartsWith(row + "~p000000000901", StringComparison.Ordinal));
        Assert.Equal([0, 1], (await ReadAsync(table, grainId)).State.Queue.Select(Number));
    }

    [Fact]
    public async Task A_message_larger_than_an_entity_is_stored_in_parts_read_back_whole_and_its_parts_go_with_it()
    {
        var (storage, table, grainId) = await StorageAsync();
        var held = await NewSessionAsync(storage, grainId);

        // 1.6 MB: three parts of at most one entity each, more than one transaction carries with the record.
        held.State.Queue.AddRange([Message("t", 0), Message("big", 1, 1_600_000), Message("t", 2)]);
        await storage.WriteStateAsync(StateName, grainId, held);
        var rows = await RowsAsync(table, grainId);
        var (_, row) = Keys(grainId);
        Assert.Equal(3, rows.Keys.Count(k => k.StartsWith(row + "~p000000000001", StringComparison.Ordinal)));
        Assert.All(rows.Values, e => Assert.InRange(Size(e), 1, SessionOptions.AzureTableRecordLimit));

        var read = await ReadAsync(table, grainId);
        Assert.Equal([0, 1, 2], read.State.Queue.Select(Number));
        Assert.True(held.State.Queue[1].Message.Payload.Span.SequenceEqual(read.State.Queue[1].Message.Payload.Span));

        // Acknowledged: its page goes, every part of it.
        held.State.Queue.RemoveAt(1);
        await storage.WriteStateAsync(StateName, grainId, held);
        Assert.DoesNotContain((await RowsAsync(table, grainId)).Keys, k => k.StartsWith(row + "~p000000000001", StringComparison.Ordinal));
        Assert.Equal([0, 2], (await ReadAsync(table, grainId)).State.Queue.Select(Number));
    }

    [Fact]
    public async Task A_write_over_a_record_changed_since_it_was_read_fails_and_stores_nothing()
    {
        var (storage, table, grainId) = await StorageAsync();
        var first = await NewSessionAsync(storage, grainId);
        first.State.Queue.Add(Message("t", 0));
        await storage.WriteStateAsync(StateName, grainId, first);

        var second = await StoredSessions.ReadAsync(storage, grainId);
        first.State.Queue.Add(Message("t", 1));
        await storage.WriteStateAsync(StateName, grainId, first);

        second.State.Queue.Add(Message("t", 99));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grainId, second));
        Assert.Equal([0, 1], (await ReadAsync(table, grainId)).State.Queue.Select(Number));
    }

    [Fact]
    public async Task Clearing_a_session_deletes_its_record_and_every_page()
    {
        var (storage, table, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);
        grainState.State.Queue.AddRange(Enumerable.Range(0, 200).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        Assert.True((await RowsAsync(table, grainId)).Count > 2);

        await storage.ClearStateAsync(StateName, grainId, grainState);
        Assert.Empty(await RowsAsync(table, grainId));
        Assert.False(grainState.RecordExists);
        var read = await ReadAsync(table, grainId);
        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State.QueueCount);
    }

    private static readonly string ServiceId = "paged-" + Guid.NewGuid().ToString("N")[..8];

    private static async Task<(SessionTableStorage Storage, TableClient Table, GrainId GrainId)> StorageAsync()
    {
        var azurite = await Azurite.SharedAsync();
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient("PagedSessions");
        await table.CreateIfNotExistsAsync();
        var storage = new SessionTableStorage("mqtt", table, StateSerializer, Options.Create(new ClusterOptions { ServiceId = ServiceId, ClusterId = "test" }), NullLogger<SessionTableStorage>.Instance);
        return (storage, table, GrainId.Create("session", Guid.NewGuid().ToString("N")));
    }

    /// <summary>A read by a new activation (a storage instance of its own, as on another silo).</summary>
    private static async Task<Held> ReadAsync(TableClient table, GrainId grainId)
    {
        var storage = new SessionTableStorage("mqtt", table, StateSerializer, Options.Create(new ClusterOptions { ServiceId = ServiceId, ClusterId = "test" }), NullLogger<SessionTableStorage>.Instance);
        return await StoredSessions.ReadAsync(storage, grainId);
    }

    private static (string Partition, string Row) Keys(GrainId grainId) => ($"{ServiceId}_{grainId}".Replace('/', '_'), StateName);

    private static async Task<Dictionary<string, TableEntity>> RowsAsync(TableClient table, GrainId grainId)
    {
        var (partition, _) = Keys(grainId);
        var rows = new Dictionary<string, TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition))
        {
            rows[entity.RowKey] = entity;
        }

        return rows;
    }

    private static long Size(TableEntity entity) =>
        entity.Keys.Where(k => k.StartsWith("Data", StringComparison.Ordinal)).Sum(k => entity[k] is byte[] bytes ? bytes.Length : 0);
}
