using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class InflightWindowTests(ClusterFixture cluster)
{
    private static readonly byte PubAck = (byte)PacketType.PubAck;

    /// <summary>
    /// With the client's Receive Maximum reached, a message waits in the session; the acknowledgements that open the
    /// window let it go, and it must reach the client before a message published after them [MQTT-4.6.0-6]. It goes
    /// through the gateway like every delivery: an answer to the acknowledging call could be overtaken.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task What_acknowledgements_let_go_reaches_the_client_before_what_is_published_next(bool persistent)
    {
        var topic = Names.Unique("window/");
        var client = await TestConnection.ConnectAsync(
            cluster,
            Names.Unique("win-"),
            cleanStart: !persistent,
            sessionExpiryInterval: persistent ? SessionExpiry.Never : 0,
            receiveMaximum: 2);
        await client.SubscribeAsync(topic, qos: 1);
        for (var i = 1; i <= 3; i++)
        {
            await cluster.PublishAsync(topic, $"m{i}");
        }

        var first = await client.ReceiveAsync("m1");
        var second = await client.ReceiveAsync("m2");
        var held = await client.Session.GetInfo();
        Assert.Equal(("m1", "m2", 2, 1), (first.Text(), second.Text(), held.InFlight, held.Queued));

        await client.Session.Acknowledge(client.ConnectionId, [new ClientAck(PubAck, first.PacketId), new ClientAck(PubAck, second.PacketId)]);
        await cluster.PublishAsync(topic, "m4");

        var third = await client.ReceiveAsync("m3, let go by the acknowledgements");
        var fourth = await client.ReceiveAsync("m4, published after them");
        Assert.Equal(("m3", "m4"), (third.Text(), fourth.Text()));
        Assert.NotEqual(third.PacketId, fourth.PacketId);
    }
}
