using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

[Collection(BrokerCollection.Name)]
public sealed class MessageExpiryTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;
    private readonly IGrainFactory _grains = fixture.Broker.Grains;

    private static MqttApplicationMessage Message(string topic, string payload, uint expiry, bool retain = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithMessageExpiryInterval(expiry).WithRetainFlag(retain).Build();

    [Fact]
    public async Task A_forwarded_message_carries_what_is_left_of_its_expiry()
    {
        var topic = $"expiry/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);

        await publisher.Client.PublishAsync(Message(topic, "fresh", 120));
        var got = await subscriber.ReceiveAsync("the message with an expiry");
        Assert.InRange(got.MessageExpiryInterval, 1u, 120u);
    }

    [Fact]
    public async Task A_queued_message_past_its_expiry_is_not_delivered()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var topic = $"expiry/{clientId}";
        var device = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(600));
        await device.SubscribeAsync(topic + "/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await device.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);

        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await publisher.Client.PublishAsync(Message(topic + "/short", "expires", 1));
        await publisher.Client.PublishAsync(Message(topic + "/long", "stays", 600));
        await _grains.WaitForSessionAsync(clientId, s => s.Queued == 2, "queued both messages");

        // The behaviour under test is the passing of time: wait out the one-second expiry.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var back = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(600));
        var got = await back.ReceiveAsync("the message that had not expired");
        Assert.Equal("stays", got.Text());
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await back.ReceiveUntilAsync(topic + "/end"));
    }

    [Fact]
    public async Task A_retained_message_past_its_expiry_is_not_sent_to_new_subscribers()
    {
        var root = $"expiry/{Guid.NewGuid():N}";
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await publisher.Client.PublishAsync(Message(root + "/short", "expires", 1, retain: true));
        await publisher.Client.PublishAsync(Message(root + "/long", "stays", 600, retain: true));

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var exact = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await exact.SubscribeAsync(root + "/short", MqttQualityOfServiceLevel.AtLeastOnce);
        await exact.SubscribeAsync(root + "/+", MqttQualityOfServiceLevel.AtLeastOnce);
        var got = await exact.ReceiveAsync("the retained message that had not expired");
        Assert.Equal("stays", got.Text());
        await exact.SubscribeAsync(root + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(root + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await exact.ReceiveUntilAsync(root + "/end"));
    }
}
