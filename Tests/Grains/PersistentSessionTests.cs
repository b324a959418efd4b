using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class PersistentSessionTests(ClusterFixture cluster)
{
    private static readonly byte PubAck = (byte)PacketType.PubAck;

    private Task<TestConnection> ConnectPersistentAsync(string clientId) =>
        TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);

    [Fact]
    public async Task Messages_published_while_the_client_was_away_are_sent_in_order_when_it_returns()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("offline/");
        var first = await ConnectPersistentAsync(clientId);
        await first.SubscribeAsync(topic, qos: 1);
        await first.DisconnectAsync(DisconnectKind.Normal);

        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(1, await cluster.PublishAsync(topic, $"m{i}"));
        }

        var offline = await first.Session.GetInfo();
        Assert.Equal((true, false, 3, 0), (offline.Exists, offline.Connected, offline.Queued, offline.InFlight));

        var back = await ConnectPersistentAsync(clientId);

        Assert.True(back.Result.SessionPresent);
        var pending = back.Result.Pending;
        Assert.Equal(["m1", "m2", "m3"], pending.Select(d => d.Text()));
        Assert.All(pending, d => Assert.Equal((back.ConnectionId, (byte)1, false, topic), (d.ConnectionId, d.Qos, d.Dup, d.Message.Topic)));
        Assert.DoesNotContain((ushort)0, pending.Select(d => d.PacketId));
        Assert.Equal(3, pending.Select(d => d.PacketId).Distinct().Count());
        Assert.Equal((3, 0), ((await back.Session.GetInfo()).InFlight, (await back.Session.GetInfo()).Queued));

        await back.Session.Acknowledge(back.ConnectionId, [.. pending.Select(d => new ClientAck(PubAck, d.PacketId))]);

        Assert.Equal(0, (await back.Session.GetInfo()).InFlight);
    }

    [Fact]
    public async Task Only_the_unacknowledged_message_is_sent_again_with_DUP_after_a_reconnect()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("unacked/");
        var first = await ConnectPersistentAsync(clientId);
        await first.SubscribeAsync(topic, qos: 1);
        await cluster.PublishAsync(topic, "acknowledged");
        await cluster.PublishAsync(topic, "not acknowledged");
        var acknowledged = await first.ReceiveAsync("the first message");
        var unacknowledged = await first.ReceiveAsync("the second message");
        Assert.Equal(("acknowledged", false, "not acknowledged", false), (acknowledged.Text(), acknowledged.Dup, unacknowledged.Text(), unacknowledged.Dup));
        await first.Session.Acknowledge(first.ConnectionId, [new ClientAck(PubAck, acknowledged.PacketId)]);
        await first.DisconnectAsync(DisconnectKind.Normal);

        var back = await ConnectPersistentAsync(clientId);

        Assert.True(back.Result.SessionPresent);
        var resent = Assert.Single(back.Result.Pending);
        Assert.Equal(("not acknowledged", true, unacknowledged.PacketId, back.ConnectionId), (resent.Text(), resent.Dup, resent.PacketId, resent.ConnectionId));
    }

    [Fact]
    public async Task A_stored_session_continued_without_expiry_keeps_serving_its_connection()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("continued/");
        var first = await ConnectPersistentAsync(clientId);
        await first.SubscribeAsync(topic, qos: 1);
        await first.DisconnectAsync(DisconnectKind.Normal);

        // v5: the session continues (clean start 0), but is now to end with the connection: its stored record goes.
        var back = await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 0);

        Assert.True(back.Result.SessionPresent);
        var info = await back.Session.GetInfo();
        Assert.Equal((true, true, 0u), (info.Exists, info.Connected, info.SessionExpiryInterval));
        Assert.Equal(1, await cluster.PublishAsync(topic, "still subscribed"));
        Assert.Equal("still subscribed", (await back.ReceiveAsync("the message on the continued session")).Text());
    }
}
