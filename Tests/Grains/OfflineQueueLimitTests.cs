using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class OfflineQueueLimitTests(ClusterFixture cluster)
{
    [Fact]
    public async Task An_offline_session_keeps_at_most_1000_messages_and_counts_the_rest_as_dropped()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("flood/");
        var device = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);
        await device.SubscribeAsync(topic, qos: 1);
        await device.DisconnectAsync(DisconnectKind.Normal);

        // 1005 messages, published in batches as a busy gateway would.
        for (var batch = 0; batch < 5; batch++)
        {
            var messages = Enumerable.Range(0, 201).Select(i => Messages.Create(topic, $"{batch * 201 + i}")).ToArray();
            await cluster.Topic(topic).Publish(messages);
        }

        var info = await device.Session.GetInfo();
        Assert.Equal((1000, 5L), (info.Queued, info.Dropped));

        // What comes back on reconnect is the in-flight window's worth of the queue, the rest stays queued.
        var back = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);
        Assert.Equal(100, back.Result.Pending.Length);
        var after = await back.Session.GetInfo();
        Assert.Equal((100, 900), (after.InFlight, after.Queued));
    }
}
