using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// A topic grain caches what the wildcard index answered; a subscription made or removed later must still be seen
/// by the very next publish.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WildcardSubscriptionChangeTests(ClusterFixture cluster)
{
    // {0} is the topic's first level, {1} its last: filters in the topic's own partition and in the root partition.
    [Theory]
    [InlineData("{0}/+")]
    [InlineData("{0}/#")]
    [InlineData("+/{1}")]
    public async Task A_wildcard_subscription_made_after_the_topic_was_published_to_receives_the_next_message(string filterFormat)
    {
        var (root, leaf) = (Names.Unique("late"), Names.Unique("leaf"));
        var topic = $"{root}/{leaf}";

        // The topic grain now asks the wildcard index and caches its (empty) answer.
        Assert.Equal(0, await cluster.PublishAsync(topic, "before anyone subscribed"));

        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("late-"));
        await device.SubscribeAsync(string.Format(filterFormat, root, leaf));
        await cluster.PublishAsync(topic, "after subscribing");

        var delivery = await device.ReceiveAsync("the first message published after SUBACK");
        Assert.Equal((topic, "after subscribing"), (delivery.Message.Topic, delivery.Text()));
    }

    [Theory]
    [InlineData("{0}/+")]
    [InlineData("+/{1}")]
    public async Task After_unsubscribing_a_wildcard_filter_the_next_message_no_longer_arrives(string filterFormat)
    {
        var (root, leaf) = (Names.Unique("gone"), Names.Unique("leaf"));
        var topic = $"{root}/{leaf}";
        var filter = string.Format(filterFormat, root, leaf);
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("leaver-"));
        await device.SubscribeAsync(filter);
        Assert.Equal(1, await cluster.PublishAsync(topic, "while subscribed"));
        Assert.Equal("while subscribed", (await device.ReceiveAsync("the message while subscribed")).Text());

        var codes = await device.Session.Unsubscribe(device.ConnectionId, [filter]);
        Assert.Equal("0", string.Join(",", codes));

        Assert.Equal(0, await cluster.PublishAsync(topic, "after unsubscribing"));
        await device.ExpectNothingBeforeMarkerAsync("message after UNSUBSCRIBE");
        Assert.DoesNotContain(filter, (await device.Session.GetInfo()).Subscriptions);
    }
}
