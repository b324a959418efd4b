using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class TakeOverTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_second_connection_with_the_same_client_id_closes_the_first_and_keeps_the_session(MqttProtocolVersion version)
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var topic = $"takeover/{clientId}";
        await using var first = await TestClient.ConnectAsync(_port, clientId, version, o => o.WithCleanSession(false).WithSessionExpiryInterval(300));
        await first.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var second = await TestClient.ConnectAsync(_port, clientId, version, o => o.WithCleanSession(false).WithSessionExpiryInterval(300));
        Assert.True(second.ConnectResult.IsSessionPresent);

        var closed = await first.Disconnected.WaitAsync(TestClient.Patience);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, closed.Reason);
        }

        // The subscription made on the first connection serves the second.
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);
        await publisher.PublishAsync(topic, "after", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("after", (await second.ReceiveAsync("the message on the new connection")).Text());
    }

    [Fact]
    public async Task A_v311_client_taken_over_does_not_publish_its_will()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var willTopic = $"will/{clientId}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var first = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V311, o => o.WithWillTopic(willTopic).WithWillPayload("gone"));

        await using var second = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V311);
        await first.Disconnected.WaitAsync(TestClient.Patience);

        await second.DisconnectAsync();
        await watcher.SubscribeAsync(willTopic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await watcher.PublishAsync(willTopic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await watcher.ReceiveUntilAsync(willTopic + "/end"));
    }

    [Fact]
    public async Task A_v5_client_taken_over_publishes_its_will()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var willTopic = $"will/{clientId}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var first = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithWillTopic(willTopic).WithWillPayload("gone"));

        await using var second = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500);

        Assert.Equal("gone", (await watcher.ReceiveAsync("the will of the connection taken over")).Text());
    }
}
