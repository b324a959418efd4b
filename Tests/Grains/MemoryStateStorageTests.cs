using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>The embedded broker's memory storage: records go when they are cleared, and a stale write is refused.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MemoryStateStorageTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_session_that_ends_leaves_no_record_behind()
    {
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion: 5, cleanStart: true, sessionExpiryInterval: 3600);
        var grainId = device.Session.GetGrainId();
        var partition = cluster.Client.GetGrain<IMemoryStateGrain>(MemoryStateStorage.PartitionOf(grainId));
        Assert.NotNull(await partition.Read("session", grainId));

        await device.Session.Delete();

        // The session's record is gone, key and all. (Only its own record is looked at: sessions of other tests in
        // this cluster park and expire meanwhile, so the number of all records is no measure.)
        Assert.Null(await partition.Read("session", grainId));
    }

    [Fact]
    public async Task A_write_over_a_record_changed_meanwhile_is_refused_and_a_missing_record_is_no_conflict()
    {
        var partition = cluster.Client.GetGrain<IMemoryStateGrain>(0);
        var grainId = GrainId.Create("test", Names.Unique("record-"));
        var first = await partition.Write("state", grainId, [1], expectedETag: 0);
        var second = await partition.Write("state", grainId, [2], expectedETag: first);

        await Assert.ThrowsAsync<MemoryStateConflictException>(() => partition.Write("state", grainId, [3], expectedETag: first));
        await Assert.ThrowsAsync<MemoryStateConflictException>(() => partition.Write("state", grainId, [3], expectedETag: 0));
        var record = Assert.IsType<MemoryStateRecord>(await partition.Read("state", grainId));
        Assert.Equal([2], record.Data);
        Assert.Equal(second, record.ETag);

        await partition.Delete("state", grainId, second);
        Assert.Null(await partition.Read("state", grainId));

        // As after the loss of the partition's silo: whatever the writer last saw, the record is written.
        await partition.Write("state", grainId, [4], expectedETag: second);
        Assert.Equal([4], (await partition.Read("state", grainId))!.Data);
    }
}
