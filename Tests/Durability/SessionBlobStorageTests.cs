using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Storage;
using OrleansMqtt.Grains;
using OrleansMqtt.Silo;
using OrleansMqtt.Tests.Infrastructure;
using static OrleansMqtt.Tests.Infrastructure.StoredSessions;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// Persistent sessions on Azure Blob storage (Azurite): one blob while a session holds up to 256 KB of messages
/// (<see cref="SessionBlobStorage.WholeBytes"/>); paged once it holds more, so a commit writes the new messages and a small record, and a commit cut short never touches what the
/// stored record names.
/// </summary>
public sealed class SessionBlobStorageTests
{
    private const string StateName = StoredSessions.StateName;

    [Fact]
    public async Task A_session_reads_back_as_written_its_in_flight_and_queued_messages_in_order()
    {
        var (storage, container, grainId) = await StorageAsync();
        var written = await NewSessionAsync(storage, grainId);
        HoldBacklog(written.State, 1000);
        await storage.WriteStateAsync(StateName, grainId, written);
        Assert.True((await BlobsAsync(container, grainId)).Count > 2, "paged");
        AssertBacklog(written, await ReadAsync(container, grainId));
    }

    [Fact]
    public async Task A_session_with_few_messages_is_one_blob_paged_while_it_holds_many_and_one_blob_again_once_they_are_acknowledged()
    {
        var (storage, container, grainId) = await StorageAsync();
        var held = await NewSessionAsync(storage, grainId);
        held.State.InFlight.Add(new InFlightMessage { PacketId = 1, Message = Message("t", 0, 1000) });
        await storage.WriteStateAsync(StateName, grainId, held);
        var blobs = await BlobsAsync(container, grainId);
        Assert.Equal([Record(grainId)], blobs.Keys);
        Assert.False(blobs[Record(grainId)].Metadata.ContainsKey("format"));

        // 300 KB queued: paged.
        held.State.Queue.AddRange(Enumerable.Range(1, 300).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, held);
        blobs = await BlobsAsync(container, grainId);
        Assert.Equal("paged", blobs[Record(grainId)].Metadata["format"]);
        Assert.True(blobs.Count >= 4, $"{blobs.Count} blobs");
        Assert.Equal(Enumerable.Range(0, 301), Numbers((await ReadAsync(container, grainId)).State));

        // Delivered and acknowledged but two: one blob again, and the pages are gone.
        held.State.InFlight.Clear();
        held.State.Queue.RemoveRange(0, 298);
        await storage.WriteStateAsync(StateName, grainId, held);
        blobs = await BlobsAsync(container, grainId);
        Assert.Equal([Record(grainId)], blobs.Keys);
        Assert.Equal([299, 300], Numbers((await ReadAsync(container, grainId)).State));

        // And paged again, from a fresh read (another activation).
        var again = await ReadAsync(container, grainId, storage);
        again.State.Queue.AddRange(Enumerable.Range(301, 300).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, again);
        Assert.Equal("paged", (await BlobsAsync(container, grainId))[Record(grainId)].Metadata["format"]);
        Assert.Equal(Enumerable.Range(299, 302), Numbers((await ReadAsync(container, grainId)).State));
    }

    [Fact]
    public async Task A_write_stores_the_new_messages_and_the_small_record_not_every_message_again()
    {
        var (storage, container, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);

        // 1,000 messages of 1 KB held: about 1 MB, some 30 pages.
        grainState.State.Queue.AddRange(Enumerable.Range(0, 1000).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var before = await BlobsAsync(container, grainId);

        // One more: the open page is written anew under a new number (the stored record names the old one until it
        // is replaced), and the record is replaced; the other pages stay as they are.
        grainState.State.Queue.Add(Message("t", 1000, 1000));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var after = await BlobsAsync(container, grainId);
        var added = after.Keys.Except(before.Keys).ToList();
        var changed = after.Where(b => before.TryGetValue(b.Key, out var was) && was.Properties.ETag != b.Value.Properties.ETag).Select(b => b.Key).ToList();
        Assert.Single(added);
        Assert.Empty(before.Keys.Except(after.Keys));
        Assert.Equal([Record(grainId)], changed);
        Assert.InRange(after[Record(grainId)].Properties.ContentLength ?? 0, 1, 20 * 1024);
        Assert.All(after.Values, b => Assert.InRange(b.Properties.ContentLength ?? 0, 1, SessionPaging.PageBytes + 4096));

        // All acknowledged but the last 300: the old open page goes, and the pages that hold none of the 300 go
        // with the commit after.
        grainState.State.Queue.RemoveRange(0, 701);
        await storage.WriteStateAsync(StateName, grainId, grainState);
        var acknowledged = await BlobsAsync(container, grainId);
        Assert.Equal(after.Count - 1, acknowledged.Count);
        Assert.DoesNotContain(before.Keys.Except([Record(grainId)]).Max(), acknowledged.Keys);
        grainState.State.Queue.RemoveAt(0);
        await storage.WriteStateAsync(StateName, grainId, grainState);
        Assert.InRange((await BlobsAsync(container, grainId)).Count, 11, 13);
        Assert.Equal(Enumerable.Range(702, 299), Numbers((await ReadAsync(container, grainId)).State));
    }

    [Fact]
    public async Task A_session_stored_whole_by_Orleans_blob_storage_is_read_and_then_written_paged()
    {
        var (storage, container, grainId) = await StorageAsync();

        // As Orleans' blob storage wrote it: the whole state, binary, in a blob named by state and grain.
        var old = new SessionState { Exists = true, SessionExpiryInterval = 60, LastPacketId = 3 };
        old.InFlight.Add(new InFlightMessage { PacketId = 3, Message = Message("old/t", 0) });
        old.Queue.AddRange(Enumerable.Range(1, 20).Select(i => Message("old/t", i)));
        await container.GetBlobClient(Record(grainId)).UploadAsync(new BinaryData(PooledGrainStorageSerializer.SerializeToArray(StateSerializer, old)));

        var grainState = await StoredSessions.ReadAsync(storage, grainId);
        Assert.True(grainState.RecordExists);
        Assert.Equal(Enumerable.Range(0, 21), Numbers(grainState.State));

        grainState.State.Queue.AddRange(Enumerable.Range(21, 300).Select(i => Message("old/t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        Assert.Equal("paged", (await BlobsAsync(container, grainId))[Record(grainId)].Metadata["format"]);
        var read = await ReadAsync(container, grainId);
        Assert.Equal(3, read.State.InFlight[0].PacketId);
        Assert.Equal(Enumerable.Range(0, 321), Numbers(read.State));
    }

    [Fact]
    public async Task A_stale_writer_fails_and_stores_nothing_and_pages_no_record_names_are_never_read()
    {
        var (storage, container, grainId) = await StorageAsync();
        var first = await NewSessionAsync(storage, grainId);
        first.State.Queue.AddRange(Enumerable.Range(0, 300).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, first);
        var named = (await BlobsAsync(container, grainId)).Keys.ToHashSet();

        // A second activation (another silo's, say) reads the same session, then the first takes an acknowledgement.
        var secondStorage = NewStorage(container);
        var second = await StoredSessions.ReadAsync(secondStorage, grainId);
        first.State.Queue.RemoveAt(0);
        await storage.WriteStateAsync(StateName, grainId, first);

        // The second's commit creates its new pages, then its record is refused: a commit cut short.
        second.State.Queue.AddRange(Enumerable.Range(900, 40).Select(i => Message("t", i, 1000)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => secondStorage.WriteStateAsync(StateName, grainId, second));
        var left = (await BlobsAsync(container, grainId)).Keys.Except(named).ToList();
        Assert.NotEmpty(left);

        // And a page as a writer that numbered messages anew could leave: a sequence number the record names.
        var stray = Record(grainId) + "~p000000000050";
        var page = new SessionPage { Sequences = [5], Messages = [Message("t", 999)] };
        await container.GetBlobClient(stray).UploadAsync(new BinaryData(PooledGrainStorageSerializer.SerializeToArray(StateSerializer, page)));

        var owner = NewStorage(container);
        var read = await StoredSessions.ReadAsync(owner, grainId);
        Assert.Equal(Enumerable.Range(1, 299), Numbers(read.State));

        // The session's next write deletes what no record names.
        read.State.Queue.RemoveAt(0);
        await owner.WriteStateAsync(StateName, grainId, read);
        var after = (await BlobsAsync(container, grainId)).Keys.ToList();
        Assert.DoesNotContain(stray, after);
        Assert.All(left, l => Assert.DoesNotContain(l, after));
        Assert.Equal(Enumerable.Range(2, 298), Numbers((await ReadAsync(container, grainId)).State));
    }

    [Fact]
    public async Task A_message_of_a_mebibyte_is_stored_and_read_back_whole()
    {
        var (storage, container, grainId) = await StorageAsync();
        var held = await NewSessionAsync(storage, grainId);
        held.State.Queue.AddRange([Message("t", 0), Message("big", 1, 1024 * 1024), Message("t", 2)]);
        await storage.WriteStateAsync(StateName, grainId, held);

        var read = await ReadAsync(container, grainId);
        Assert.Equal([0, 1, 2], Numbers(read.State));
        Assert.True(held.State.Queue[1].Message.Payload.Span.SequenceEqual(read.State.Queue[1].Message.Payload.Span));
    }

    [Fact]
    public async Task Clearing_a_session_deletes_its_record_and_every_page()
    {
        var (storage, container, grainId) = await StorageAsync();
        var grainState = await NewSessionAsync(storage, grainId);
        grainState.State.Queue.AddRange(Enumerable.Range(0, 300).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, grainState);
        Assert.True((await BlobsAsync(container, grainId)).Count > 2);

        await storage.ClearStateAsync(StateName, grainId, grainState);
        Assert.Empty(await BlobsAsync(container, grainId));
        Assert.False(grainState.RecordExists);
        var read = await ReadAsync(container, grainId);
        Assert.False(read.RecordExists);
        Assert.Equal(0, read.State.QueueCount);
    }

    private static async Task<(SessionBlobStorage Storage, BlobContainerClient Container, GrainId GrainId)> StorageAsync()
    {
        var azurite = await Azurite.SharedAsync();
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("paged-sessions");
        await container.CreateIfNotExistsAsync();
        return (NewStorage(container), container, GrainId.Create("session", Guid.NewGuid().ToString("N")));
    }

    private static SessionBlobStorage NewStorage(BlobContainerClient container) =>
        new("mqtt", container, StateSerializer, NullLogger<SessionBlobStorage>.Instance);

    /// <summary>A read by a new activation (a storage instance of its own, as on another silo, unless one is given).</summary>
    private static Task<Held> ReadAsync(BlobContainerClient container, GrainId grainId, SessionBlobStorage? storage = null) =>
        StoredSessions.ReadAsync(storage ?? NewStorage(container), grainId);

    private static string Record(GrainId grainId) => $"{StateName}-{grainId}.json";

    private static async Task<Dictionary<string, BlobItem>> BlobsAsync(BlobContainerClient container, GrainId grainId)
    {
        var blobs = new Dictionary<string, BlobItem>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, Record(grainId), CancellationToken.None))
        {
            blobs[blob.Name] = blob;
        }

        return blobs;
    }
}
