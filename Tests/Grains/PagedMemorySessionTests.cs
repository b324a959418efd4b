using Orleans.Storage;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;
using static OrleansMqtt.Tests.Infrastructure.StoredSessions;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// Sessions in the embedded broker's memory storage are paged, as on Azure Table storage: a commit sends the session's
/// small record and the page that took the new messages, so a session with a deep queue is not sent whole on each commit.
/// The storage here is an instance of its own, as another silo's would be, over the cluster's partitions.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PagedMemorySessionTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_session_reads_back_as_written_its_in_flight_and_queued_messages_in_order()
    {
        var (storage, grainId) = Storage();
        var written = await NewSessionAsync(storage, grainId);
        for (var i = 0; i < 3; i++)
        {
            written.State.InFlight.Add(new InFlightMessage { PacketId = (ushort)(i + 1), Message = Message("fleet/cmd", i), Released = i == 1 });
        }

        written.State.Queue.AddRange(Enumerable.Range(3, 297).Select(i => Message("fleet/cmd", i)));
        await storage.WriteStateAsync(StateName, grainId, written);

        var read = await ReadAsync(grainId);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(3600u, read.State.SessionExpiryInterval);
        Assert.Equal([1, 2, 3], read.State.InFlight.Select(m => (int)m.PacketId));
        Assert.Equal([false, true, false], read.State.InFlight.Select(m => m.Released));
        Assert.Equal(Enumerable.Range(0, 300), Numbers(read.State));
    }

    [Fact]
    public async Task A_commit_stores_the_new_messages_and_the_small_record_and_drops_acknowledged_pages()
    {
        var (storage, grainId) = Storage();
        var held = await NewSessionAsync(storage, grainId);

        // 1,000 messages of 1 KB: 1 MB that a whole write sent again on every commit.
        held.State.Queue.AddRange(Enumerable.Range(0, 1000).Select(i => Message("t", i, 1000)));
        await storage.WriteStateAsync(StateName, grainId, held);
        var before = await Partition(grainId).Read(StateName, grainId);

        held.State.Queue.Add(Message("t", 1000, 1000));
        await storage.WriteStateAsync(StateName, grainId, held);
        var after = Assert.IsType<MemoryStateRecord>(await Partition(grainId).Read(StateName, grainId));

        // The record names 1,001 messages in a few bytes each; only the last page changed.
        Assert.InRange(after.Data.Length, 1, 20 * 1024);
        var pagesBefore = before!.Pages!.ToDictionary(p => p.Number, p => p.Data);
        var changed = after.Pages!.Where(p => !pagesBefore.TryGetValue(p.Number, out var data) || !data.AsSpan().SequenceEqual(p.Data)).Select(p => p.Number).ToList();
        Assert.Equal([after.Pages!.Max(p => p.Number)], changed);
        Assert.All(after.Pages!, p => Assert.InRange(p.Data.Length, 1, SessionPaging.PageBytes + 4096));

        // All acknowledged but the last: every page without a message the session holds goes.
        held.State.Queue.RemoveRange(0, 1000);
        await storage.WriteStateAsync(StateName, grainId, held);
        var left = await Partition(grainId).Read(StateName, grainId);
        Assert.Single(left!.Pages!);
        Assert.Equal([1000], Numbers((await ReadAsync(grainId)).State));
    }

    [Fact]
    public async Task A_partition_that_lost_the_session_gets_all_of_it_again_on_the_next_commit()
    {
        var (storage, grainId) = Storage();
        var held = await NewSessionAsync(storage, grainId);
        held.State.Queue.AddRange(Enumerable.Range(0, 300).Select(i => Message("t", i, 500)));
        await storage.WriteStateAsync(StateName, grainId, held);

        // As when the partition's silo is lost: it starts empty, while the session's activation lives on.
        await Partition(grainId).Delete(StateName, grainId, long.Parse(held.ETag!, System.Globalization.CultureInfo.InvariantCulture));
        held.State.Queue.Add(Message("t", 300, 500));
        await storage.WriteStateAsync(StateName, grainId, held);

        Assert.Equal(Enumerable.Range(0, 301), Numbers((await ReadAsync(grainId)).State));
    }

    [Fact]
    public async Task A_session_stored_whole_by_the_build_before_is_read_and_written_back_paged()
    {
        var (storage, grainId) = Storage();
        var old = new SessionState { Exists = true, SessionExpiryInterval = 60 };
        old.InFlight.Add(new InFlightMessage { PacketId = 7, Message = Message("old/t", 0) });
        old.Queue.AddRange(Enumerable.Range(1, 20).Select(i => Message("old/t", i)));
        await Partition(grainId).Write(StateName, grainId, PooledGrainStorageSerializer.SerializeToArray(StateSerializer, old), expectedETag: 0);

        var held = await StoredSessions.ReadAsync(storage, grainId);
        Assert.Equal(Enumerable.Range(0, 21), Numbers(held.State));
        Assert.Equal(7, held.State.InFlight[0].PacketId);

        held.State.Queue.Add(Message("old/t", 21));
        await storage.WriteStateAsync(StateName, grainId, held);
        Assert.NotNull((await Partition(grainId).Read(StateName, grainId))!.Pages);
        Assert.Equal(Enumerable.Range(0, 22), Numbers((await ReadAsync(grainId)).State));
    }

    [Fact]
    public async Task A_commit_over_a_session_changed_meanwhile_is_refused_and_stores_nothing()
    {
        var (storage, grainId) = Storage();
        var first = await NewSessionAsync(storage, grainId);
        first.State.Queue.Add(Message("t", 0));
        await storage.WriteStateAsync(StateName, grainId, first);

        // Another activation (a silo that thought it held the session) writes in between.
        var (other, _) = Storage();
        var second = await StoredSessions.ReadAsync(other, grainId);
        second.State.Queue.Add(Message("t", 1));
        await other.WriteStateAsync(StateName, grainId, second);

        first.State.Queue.Add(Message("t", 99));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, grainId, first));
        Assert.Equal([0, 1], Numbers((await ReadAsync(grainId)).State));
    }

    private (MemoryStateStorage Storage, GrainId GrainId) Storage() =>
        (new MemoryStateStorage(cluster.Client, StateSerializer), GrainId.Create("session", Names.Unique("paged-")));

    private IMemoryStateGrain Partition(GrainId grainId) => cluster.Client.GetGrain<IMemoryStateGrain>(MemoryStateStorage.PartitionOf(grainId));

    /// <summary>A read by a new activation, through a storage instance of its own.</summary>
    private Task<Held> ReadAsync(GrainId grainId) => StoredSessions.ReadAsync(Storage().Storage, grainId);
}
