using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>No Local, Retain As Published, Retain Handling and Subscription Identifiers (3.8.3.1, 3.8.2.1.2).</summary>
[Collection(BrokerCollection.Name)]
public sealed class SubscriptionOptionsTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private Task<TestClient> ConnectAsync(string name) => TestClient.ConnectAsync(_port, name + "-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);

    private static async Task SubscribeAsync(TestClient client, MqttTopicFilter filter, uint? subscriptionId = null)
    {
        var builder = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter);
        if (subscriptionId is { } id)
        {
            builder.WithSubscriptionIdentifier(id);
        }

        var result = await client.Client.SubscribeAsync(builder.Build());
        Assert.True((int)result.Items.Single().ResultCode <= 2);
    }

    [Fact]
    public async Task No_Local_keeps_a_client_from_receiving_its_own_messages()
    {
        var topic = $"opts/{Guid.NewGuid():N}";
        await using var client = await ConnectAsync("self");
        await SubscribeAsync(client, new MqttTopicFilterBuilder().WithTopic(topic).WithAtLeastOnceQoS().WithNoLocal(true).Build());
        await client.SubscribeAsync(topic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var other = await ConnectAsync("other");

        await client.PublishAsync(topic, "mine", MqttQualityOfServiceLevel.AtLeastOnce);
        await other.PublishAsync(topic, "theirs", MqttQualityOfServiceLevel.AtLeastOnce);
        await other.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(["theirs"], (await client.ReceiveUntilAsync(topic + "/end")).Select(m => m.Text()));
    }

    [Fact]
    public async Task Retain_As_Published_keeps_the_RETAIN_flag_on_forwarded_messages()
    {
        var topic = $"opts/{Guid.NewGuid():N}";
        await using var keeps = await ConnectAsync("keeps");
        await SubscribeAsync(keeps, new MqttTopicFilterBuilder().WithTopic(topic).WithAtLeastOnceQoS().WithRetainAsPublished(true).Build());
        await using var clears = await ConnectAsync("clears");
        await SubscribeAsync(clears, new MqttTopicFilterBuilder().WithTopic(topic).WithAtLeastOnceQoS().Build());
        await using var publisher = await ConnectAsync("pub");

        await publisher.PublishAsync(topic, "r", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        Assert.True((await keeps.ReceiveAsync("the message with RETAIN as published")).Retain);
        Assert.False((await clears.ReceiveAsync("the message with RETAIN cleared")).Retain);
    }

    [Theory]
    [InlineData(MqttRetainHandling.SendAtSubscribe, true, true)]
    [InlineData(MqttRetainHandling.SendAtSubscribeIfNewSubscriptionOnly, true, false)]
    [InlineData(MqttRetainHandling.DoNotSendOnSubscribe, false, false)]
    public async Task Retain_Handling_decides_when_retained_messages_are_sent(MqttRetainHandling handling, bool onFirstSubscribe, bool onRepeatedSubscribe)
    {
        var topic = $"opts/{Guid.NewGuid():N}";
        await using var publisher = await ConnectAsync("pub");
        await publisher.PublishAsync(topic, "kept", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        await using var subscriber = await ConnectAsync("sub");
        await subscriber.SubscribeAsync(topic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        var filter = new MqttTopicFilterBuilder().WithTopic(topic).WithAtLeastOnceQoS().WithRetainHandling(handling).Build();

        await SubscribeAsync(subscriber, filter);
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(onFirstSubscribe ? 1 : 0, (await subscriber.ReceiveUntilAsync(topic + "/end")).Count);

        await SubscribeAsync(subscriber, filter);
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(onRepeatedSubscribe ? 1 : 0, (await subscriber.ReceiveUntilAsync(topic + "/end")).Count);
    }

    [Fact]
    public async Task Each_delivery_carries_the_identifiers_of_every_subscription_that_matched()
    {
        var root = $"opts/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub");
        await SubscribeAsync(subscriber, new MqttTopicFilterBuilder().WithTopic(root + "/a").WithAtLeastOnceQoS().Build(), subscriptionId: 7);
        await SubscribeAsync(subscriber, new MqttTopicFilterBuilder().WithTopic(root + "/+").WithAtLeastOnceQoS().Build(), subscriptionId: 42);
        await using var publisher = await ConnectAsync("pub");

        await publisher.PublishAsync(root + "/a", "both", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(root + "/b", "one", MqttQualityOfServiceLevel.AtLeastOnce);

        var both = await subscriber.ReceiveAsync("the message both subscriptions match");
        Assert.Equal([7u, 42u], both.SubscriptionIdentifiers.Order());
        var one = await subscriber.ReceiveAsync("the message only the wildcard matches");
        Assert.Equal([42u], one.SubscriptionIdentifiers);
    }
}
