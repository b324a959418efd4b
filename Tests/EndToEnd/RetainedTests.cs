using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class RetainedTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_new_subscriber_gets_the_retained_message_with_RETAIN_set_on_exact_and_wildcard_filters(MqttProtocolVersion version)
    {
        var root = $"r{Guid.NewGuid():N}";
        var leaf = $"b{Guid.NewGuid():N}";
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);
        await publisher.PublishAsync($"{root}/a", "first", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        await publisher.PublishAsync($"{root}/a", "latest", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        await publisher.PublishAsync($"{root}/{leaf}/c", "deep", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);

        await using var exact = await TestClient.ConnectAsync(_port, "exact-" + Guid.NewGuid().ToString("N"), version);
        await exact.SubscribeAsync($"{root}/a", MqttQualityOfServiceLevel.AtLeastOnce);
        var got = await exact.ReceiveAsync("the retained message of the exact topic");
        Assert.Equal(("latest", true), (got.Text(), got.Retain));

        await using var wildcard = await TestClient.ConnectAsync(_port, "wild-" + Guid.NewGuid().ToString("N"), version);
        await wildcard.SubscribeAsync($"{root}/#", MqttQualityOfServiceLevel.AtLeastOnce);
        var both = new[] { await wildcard.ReceiveAsync("a retained message"), await wildcard.ReceiveAsync("another retained message") };
        Assert.Equal(["deep", "latest"], both.Select(m => m.Text()).Order());
        Assert.All(both, m => Assert.True(m.Retain));

        await using var rootWildcard = await TestClient.ConnectAsync(_port, "root-" + Guid.NewGuid().ToString("N"), version);
        await rootWildcard.SubscribeAsync($"+/{leaf}/c");
        var viaRoot = await rootWildcard.ReceiveAsync("the retained message through a filter that starts with a wildcard");
        Assert.Equal(($"{root}/{leaf}/c", "deep"), (viaRoot.Topic, viaRoot.Text()));
    }

    [Fact]
    public async Task Messages_to_existing_subscribers_arrive_with_RETAIN_cleared()
    {
        var topic = $"r{Guid.NewGuid():N}/live";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"));
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"));
        await publisher.PublishAsync(topic, "now", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);

        var got = await subscriber.ReceiveAsync("the live message");
        Assert.Equal(("now", false), (got.Text(), got.Retain));
    }

    [Fact]
    public async Task An_empty_retained_publish_clears_the_retained_message()
    {
        var root = $"r{Guid.NewGuid():N}";
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"));
        await publisher.PublishAsync($"{root}/gone", "old", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        await publisher.PublishAsync($"{root}/gone", "", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        await publisher.PublishAsync($"{root}/kept", "kept", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);

        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"));
        await subscriber.SubscribeAsync($"{root}/gone");
        await subscriber.SubscribeAsync($"{root}/kept");
        var got = await subscriber.ReceiveAsync("only the retained message that was not cleared");
        Assert.Equal($"{root}/kept", got.Topic);

        await using var wildcard = await TestClient.ConnectAsync(_port, "wild-" + Guid.NewGuid().ToString("N"));
        await wildcard.SubscribeAsync($"{root}/+");
        Assert.Equal($"{root}/kept", (await wildcard.ReceiveAsync("the retained message")).Topic);
        await publisher.PublishAsync($"{root}/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await wildcard.ReceiveUntilAsync($"{root}/end"));
    }
}
