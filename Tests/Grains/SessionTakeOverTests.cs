using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class SessionTakeOverTests(ClusterFixture cluster)
{
    private const byte SessionTakenOver = 0x8E;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Connecting_again_with_the_same_client_id_closes_the_old_connection_and_keeps_the_session_unless_clean_start(bool cleanStart)
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("takeover/");
        var first = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);
        Assert.False(first.Result.SessionPresent);
        await first.SubscribeAsync(topic);

        var second = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: cleanStart, sessionExpiryInterval: SessionExpiry.Never);

        Assert.Equal((first.ConnectionId, SessionTakenOver), await first.Gateway.ReceiveCloseAsync("the old connection to be closed with 0x8E"));
        Assert.Equal(!cleanStart, second.Result.SessionPresent);
        var info = await second.Session.GetInfo();
        Assert.Equal((true, second.Gateway.GatewayId), (info.Connected, info.GatewayId));

        // The subscription made on the first connection serves the second, unless the second started clean.
        if (cleanStart)
        {
            Assert.Equal(0, await cluster.PublishAsync(topic, "after"));
            await second.ExpectNothingBeforeMarkerAsync("message for the discarded subscription");
        }
        else
        {
            Assert.Equal(1, await cluster.PublishAsync(topic, "after"));
            Assert.Equal("after", (await second.ReceiveAsync("the message on the new connection")).Text());
        }
    }

    [Fact]
    public async Task The_old_connection_ending_after_a_take_over_does_not_end_the_new_one()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("takeover/");
        var first = await TestConnection.ConnectAsync(cluster, clientId);
        var second = await TestConnection.ConnectAsync(cluster, clientId);
        await first.Gateway.ReceiveCloseAsync("the old connection to be closed");
        await second.SubscribeAsync(topic);

        // The old gateway reports, late, that the connection it was told to close has ended.
        await first.DisconnectAsync(DisconnectKind.Abnormal);

        var info = await second.Session.GetInfo();
        Assert.Equal((true, true, second.Gateway.GatewayId), (info.Exists, info.Connected, info.GatewayId));
        Assert.Equal(1, await cluster.PublishAsync(topic, "still here"));
        Assert.Equal("still here", (await second.ReceiveAsync("the message on the new connection")).Text());
    }
}
