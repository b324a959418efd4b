using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class RetainedMessageTests(ClusterFixture cluster)
{
    // {0} is the topic's first level, {1} its last: the exact topic, wildcards in its partition, a filter that starts with one.
    [Theory]
    [InlineData("{0}/{1}")]
    [InlineData("{0}/+")]
    [InlineData("{0}/#")]
    [InlineData("+/{1}")]
    public async Task A_new_subscription_gets_the_retained_message_with_RETAIN_set(string filterFormat)
    {
        var (root, leaf) = (Names.Unique("retained"), Names.Unique("leaf"));
        var topic = $"{root}/{leaf}";
        await cluster.PublishAsync(topic, "21.5", qos: 1, retain: true);

        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("late-"));
        var result = await device.SubscribeAsync(string.Format(filterFormat, root, leaf), qos: 1);

        var retained = Assert.Single(result.Retained);
        Assert.Equal((device.ConnectionId, topic, "21.5", true, (byte)1), (retained.ConnectionId, retained.Message.Topic, retained.Text(), retained.Retain, retained.Qos));
        Assert.NotEqual(0, retained.PacketId);
    }

    [Theory]
    [InlineData("{0}/{1}")]
    [InlineData("{0}/+")]
    [InlineData("+/{1}")]
    public async Task A_retained_publish_with_an_empty_payload_clears_the_retained_message(string filterFormat)
    {
        var (root, leaf) = (Names.Unique("cleared"), Names.Unique("leaf"));
        var topic = $"{root}/{leaf}";
        var filter = string.Format(filterFormat, root, leaf);
        await cluster.PublishAsync(topic, "21.5", qos: 1, retain: true);
        var before = await TestConnection.ConnectAsync(cluster, Names.Unique("before-"));
        Assert.Single((await before.SubscribeAsync(filter)).Retained);

        await cluster.PublishAsync(topic, "", qos: 1, retain: true);

        var after = await TestConnection.ConnectAsync(cluster, Names.Unique("after-"));
        var result = await after.SubscribeAsync(filter);
        Assert.Empty(result.Retained.Select(d => d.Describe()));
        Assert.Null(await cluster.Topic(topic).GetRetained());
    }
}
