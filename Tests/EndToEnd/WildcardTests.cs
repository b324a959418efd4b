using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class WildcardTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Plus_and_hash_filters_receive_the_topics_they_match_and_no_others(MqttProtocolVersion version)
    {
        var root = $"w{Guid.NewGuid():N}";
        await using var plus = await TestClient.ConnectAsync(_port, "plus-" + Guid.NewGuid().ToString("N"), version);
        await plus.SubscribeAsync($"{root}/+/temp");
        await plus.SubscribeAsync($"{root}/end");
        await using var hash = await TestClient.ConnectAsync(_port, "hash-" + Guid.NewGuid().ToString("N"), version);
        await hash.SubscribeAsync($"{root}/#");
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);

        foreach (var topic in new[] { $"{root}/a/temp", $"{root}/a/b/temp", $"{root}", $"{root}/b/temp", $"{root}/a/humidity" })
        {
            await publisher.PublishAsync(topic, topic, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await publisher.PublishAsync($"{root}/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);

        var plusGot = (await plus.ReceiveUntilAsync($"{root}/end")).Select(m => m.Topic).Order().ToArray();
        Assert.Equal([$"{root}/a/temp", $"{root}/b/temp"], plusGot);

        // "a/#" also matches the parent level "a" (4.7.1.2).
        var hashGot = (await hash.ReceiveUntilAsync($"{root}/end")).Select(m => m.Topic).Order().ToArray();
        Assert.Equal(new[] { root, $"{root}/a/b/temp", $"{root}/a/humidity", $"{root}/a/temp", $"{root}/b/temp" }.Order(), hashGot);
    }

    [Fact]
    public async Task Dollar_topics_do_not_match_filters_that_start_with_a_wildcard()
    {
        var id = Guid.NewGuid().ToString("N");
        await using var everything = await TestClient.ConnectAsync(_port, "all-" + id);
        await everything.SubscribeAsync("#");
        await everything.SubscribeAsync("+/" + id);
        await using var dollar = await TestClient.ConnectAsync(_port, "dollar-" + id);
        await dollar.SubscribeAsync($"$test/{id}");
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + id);

        await publisher.PublishAsync($"$test/{id}", "hidden", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync($"marker/{id}", "end", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Equal("hidden", (await dollar.ReceiveAsync("the $ topic on its exact filter")).Text());
        var seen = await everything.ReceiveUntilAsync($"marker/{id}");
        Assert.DoesNotContain(seen, m => m.Topic.StartsWith('$'));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Overlapping_subscriptions_deliver_one_copy_at_the_highest_QoS(MqttProtocolVersion version)
    {
        var root = $"o{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), version);
        await subscriber.SubscribeAsync($"{root}/x", MqttQualityOfServiceLevel.AtMostOnce);
        await subscriber.SubscribeAsync($"{root}/+", MqttQualityOfServiceLevel.AtLeastOnce);
        await subscriber.SubscribeAsync($"{root}/#", MqttQualityOfServiceLevel.AtMostOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);

        await publisher.PublishAsync($"{root}/x", "one", MqttQualityOfServiceLevel.ExactlyOnce);
        await publisher.PublishAsync($"{root}/x", "end", MqttQualityOfServiceLevel.ExactlyOnce);

        var first = await subscriber.ReceiveAsync("the message");
        Assert.Equal(("one", MqttQualityOfServiceLevel.AtLeastOnce), (first.Text(), first.QualityOfServiceLevel));
        var second = await subscriber.ReceiveAsync("the end marker, with no copy of the first between");
        Assert.Equal("end", second.Text());
    }

    [Fact]
    public async Task Unsubscribing_stops_delivery()
    {
        var root = $"u{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"));
        await subscriber.SubscribeAsync($"{root}/+");
        await subscriber.SubscribeAsync($"{root}/exact");
        await subscriber.SubscribeAsync($"{root}-end");
        await subscriber.Client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter($"{root}/+").WithTopicFilter($"{root}/exact").Build());
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"));

        await publisher.PublishAsync($"{root}/exact", "gone", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync($"{root}-end", "end", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Empty(await subscriber.ReceiveUntilAsync($"{root}-end"));
    }
}
