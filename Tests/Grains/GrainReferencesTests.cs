using System.Text;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Bridges;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// The broker's grain references, made without Orleans' per-call type resolution, reach the grains that
/// <c>GetGrain</c> reaches, from a client and from inside a silo alike.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GrainReferencesTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_reference_reaches_the_grain_that_GetGrain_reaches()
    {
        var topic = "references/" + Names.Unique("t");
        var reference = cluster.Client.Reference<ITopicGrain>(topic);
        var orleans = cluster.Client.GetGrain<ITopicGrain>(topic);
        Assert.Equal(orleans.GetGrainId(), reference.GetGrainId());
        Assert.Equal(((GrainReference)(object)orleans).InterfaceType, ((GrainReference)(object)reference).InterfaceType);
        Assert.Equal(orleans, reference);

        await reference.Publish([Messages.Create(topic, "kept", qos: 1, retain: true)]);
        var retained = await orleans.GetRetained();
        Assert.Equal("kept", Encoding.UTF8.GetString(retained!.Payload.Span));

        // The second reference of the same interface comes from what the first one resolved.
        var other = "references/" + Names.Unique("u");
        Assert.Equal(cluster.Client.GetGrain<ITopicGrain>(other).GetGrainId(), cluster.Client.Reference<ITopicGrain>(other).GetGrainId());
    }

    [Fact]
    public async Task An_integer_key_reference_reaches_the_same_partition()
    {
        var clientId = Names.Unique("dir-");
        var partition = SessionDirectory.PartitionOf(clientId);
        Assert.Equal(cluster.Client.GetGrain<ISessionDirectoryGrain>(partition).GetGrainId(), cluster.Client.Reference<ISessionDirectoryGrain>(partition).GetGrainId());

        // A session reports itself to its directory partition from inside the silo, through the same kind of reference.
        await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, cleanStart: true, sessionExpiryInterval: 60);
        var directory = cluster.Client.GetGrain<ISessionDirectoryGrain>(partition);
        await BridgeTesting.WaitUntilAsync(
            async () => (await directory.Search(clientId, connected: true, after: null, limit: 10)).Any(e => e.ClientId == clientId),
            $"{clientId} listed as connected in directory partition {partition}");
    }

    [Fact]
    public void A_blank_key_is_refused_as_GetGrain_refuses_it()
    {
        Assert.ThrowsAny<ArgumentException>(() => cluster.Client.GetGrain<ITopicGrain>(" "));
        Assert.ThrowsAny<ArgumentException>(() => cluster.Client.Reference<ITopicGrain>(" "));
    }
}
