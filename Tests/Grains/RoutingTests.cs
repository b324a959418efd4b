using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class RoutingTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_session_whose_exact_and_wildcard_subscriptions_both_match_gets_one_copy_at_the_highest_qos_with_both_identifiers()
    {
        var root = Names.Unique("route");
        var topic = $"{root}/kitchen";
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("sub-"), protocolVersion: 5);
        await device.SubscribeAsync(topic, qos: 1, subscriptionIdentifier: 11);
        await device.SubscribeAsync($"{root}/+", qos: 2, subscriptionIdentifier: 22);

        Assert.Equal(2, await cluster.PublishAsync(topic, "hello", qos: 2));

        var delivery = await device.ReceiveAsync("the message both subscriptions match");
        Assert.Equal((topic, "hello", (byte)2, false), (delivery.Message.Topic, delivery.Text(), delivery.Qos, delivery.Retain));
        Assert.NotEqual(0, delivery.PacketId);
        Assert.Equal([11u, 22u], (delivery.SubscriptionIds ?? []).Order());
        await device.ExpectNothingBeforeMarkerAsync("second copy of the message");
    }

    [Fact]
    public async Task A_session_takes_nothing_for_a_subscription_the_index_holds_but_it_does_not()
    {
        var root = Names.Unique("route");
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("sub-"));
        await device.SubscribeAsync($"{root}/wanted/#");

        // The index names the session for filters it does not hold, as it does for a client whose earlier session was
        // lost with its silo before it could take its subscriptions out.
        await cluster.Topic($"{root}/stale").Subscribe(new Subscriber(device.ClientId, 1, false, false, null));
        await cluster.Client.GetGrain<IWildcardIndexGrain>(OrleansMqtt.Protocol.Topic.PartitionKey(root)).Subscribe($"{root}/+/gone", new Subscriber(device.ClientId, 1, false, false, null));

        Assert.Equal(1, await cluster.PublishAsync($"{root}/stale", "exact, not asked for"));
        Assert.Equal(1, await cluster.PublishAsync($"{root}/x/gone", "wildcard, not asked for"));
        await device.ExpectNothingBeforeMarkerAsync("message for a subscription the session does not hold");

        Assert.Equal(2, await cluster.PublishAsync($"{root}/wanted/gone", "asked for"));
        Assert.Equal("asked for", (await device.ReceiveAsync("the message its own subscription matches")).Text());
    }

    [Fact]
    public async Task A_group_member_that_does_not_hold_the_shared_subscription_passes_each_message_on()
    {
        var topic = Names.Unique("route") + "/jobs";
        var member = await TestConnection.ConnectAsync(cluster, Names.Unique("member-"));
        await member.SubscribeAsync($"$share/workers/{topic}");
        var stale = await TestConnection.ConnectAsync(cluster, Names.Unique("stale-"));
        await cluster.Topic(topic).Subscribe(new Subscriber(stale.ClientId, 1, false, false, null, "workers"));

        for (var i = 0; i < 4; i++)
        {
            await cluster.PublishAsync(topic, $"job {i}");
        }

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal($"job {i}", (await member.ReceiveAsync($"job {i}, which the other member declined or never got")).Text());
        }

        await stale.ExpectNothingBeforeMarkerAsync("job for a shared subscription the session does not hold");
    }

    [Fact]
    public async Task A_session_whose_filters_do_not_match_the_topic_gets_nothing()
    {
        var root = Names.Unique("route");
        var topic = $"{root}/kitchen/temperature";
        var bystander = await TestConnection.ConnectAsync(cluster, Names.Unique("bystander-"));
        await bystander.SubscribeAsync($"{root}/+");
        await bystander.SubscribeAsync($"{root}/garage/#");
        await bystander.SubscribeAsync($"{root}/kitchen");
        var listener = await TestConnection.ConnectAsync(cluster, Names.Unique("listener-"));
        await listener.SubscribeAsync($"{root}/#");

        Assert.Equal(1, await cluster.PublishAsync(topic, "21.5"));

        Assert.Equal("21.5", (await listener.ReceiveAsync("the message on the matching subscription")).Text());
        await bystander.ExpectNothingBeforeMarkerAsync($"message on {topic}");
    }

    [Fact]
    public async Task Every_subscriber_gets_exactly_one_copy_wherever_its_session_lives()
    {
        var root = Names.Unique("fanout");
        var leaf = Names.Unique("leaf");
        var topic = $"{root}/{leaf}";
        string[] filters = [topic, $"{root}/+", $"+/{leaf}", $"{root}/#"];
        var subscribers = new List<TestConnection>();
        for (var i = 0; i < 8; i++)
        {
            var subscriber = await TestConnection.ConnectAsync(cluster, Names.Unique($"fan{i}-"));
            await subscriber.SubscribeAsync(filters[i % filters.Length]);
            subscribers.Add(subscriber);
        }

        Assert.Equal(subscribers.Count, await cluster.PublishAsync(topic, "to all"));

        foreach (var subscriber in subscribers)
        {
            var delivery = await subscriber.ReceiveAsync($"the message at {subscriber.ClientId}");
            Assert.Equal((topic, "to all"), (delivery.Message.Topic, delivery.Text()));
            await subscriber.ExpectNothingBeforeMarkerAsync("second copy of the message");
        }
    }

    [Fact]
    public async Task A_batch_reaches_each_session_in_order_with_what_its_own_subscriptions_grant()
    {
        var root = Names.Unique("batch");
        var topic = $"{root}/line";
        var publisher = Names.Unique("pub-");

        // The publisher subscribes to its own topic with No Local (QoS 2, id 1) and through a wildcard (QoS 1, id 2):
        // its own messages come only through the wildcard; others' through both.
        var own = await TestConnection.ConnectAsync(cluster, publisher, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 3600);
        var noLocal = await own.Session.Subscribe(own.ConnectionId, [new SubscriptionRequest(topic, 2, NoLocal: true)], 1);
        Assert.Equal([(byte)2], noLocal.ReasonCodes);
        await own.SubscribeAsync($"{root}/+", qos: 1, subscriptionIdentifier: 2);
        var other = await TestConnection.ConnectAsync(cluster, Names.Unique("other-"));
        await other.SubscribeAsync(topic, qos: 0);

        MqttMessage[] batch =
        [
            Messages.Create(topic, "1", qos: 2) with { PublisherId = publisher },
            Messages.Create(topic, "2", qos: 0) with { PublisherId = "someone" },
            Messages.Create(topic, "3", qos: 2) with { PublisherId = "someone" },
            Messages.Create(topic, "4", qos: 1) with { PublisherId = publisher },
        ];
        Assert.Equal(3, await cluster.Topic(topic).Publish(batch));

        var received = new List<Delivery>();
        for (var i = 0; i < batch.Length; i++)
        {
            received.Add(await own.ReceiveAsync($"message {i + 1} of the batch at the publisher's session"));
        }

        Assert.Equal(
            [("1", (byte)1, "2"), ("2", (byte)0, "1,2"), ("3", (byte)2, "1,2"), ("4", (byte)1, "2")],
            received.Select(d => (d.Text(), d.Qos, string.Join(",", (d.SubscriptionIds ?? []).Order()))));
        Assert.Equal(3, received.Where(d => d.Qos > 0).Select(d => d.PacketId).Distinct().Count());
        await own.ExpectNothingBeforeMarkerAsync("a second copy of a batch message");

        for (var i = 0; i < batch.Length; i++)
        {
            var delivery = await other.ReceiveAsync($"message {i + 1} of the batch at the other session");
            Assert.Equal(($"{i + 1}", (byte)0), (delivery.Text(), delivery.Qos));
        }
    }
}
