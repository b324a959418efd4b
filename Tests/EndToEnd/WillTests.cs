using MQTTnet;
using MQTTnet.Protocol;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class WillTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private static ConnectPacket WithWill(string clientId, string willTopic, ushort keepAlive, MqttProtocolVersion version = MqttProtocolVersion.V311) => new()
    {
        ProtocolVersion = version,
        ClientId = clientId,
        KeepAliveSeconds = keepAlive,
        Will = new WillMessage { Topic = willTopic, Payload = "gone"u8.ToArray(), Qos = QualityOfService.AtLeastOnce },
    };

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task The_will_is_published_when_the_client_stops_talking_for_one_and_a_half_keep_alives(MqttProtocolVersion version)
    {
        var willTopic = $"will/{Guid.NewGuid():N}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var device = await RawMqttClient.OpenAsync(_port);
        var connAck = await device.ConnectAsync(WithWill("dev-" + Guid.NewGuid().ToString("N"), willTopic, keepAlive: 1, version));
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        var started = DateTime.UtcNow;

        // The device sends nothing more. The broker closes it (v5: DISCONNECT 0x8D first) and publishes its will.
        var closing = await device.ReadUntilClosedAsync();
        var waited = DateTime.UtcNow - started;
        Assert.InRange(waited, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(5));
        if (version == MqttProtocolVersion.V500)
        {
            var disconnect = MqttDecoder.DecodeDisconnect(Assert.Single(closing).Frame, version);
            Assert.Equal(ReasonCode.KeepAliveTimeout, disconnect.ReasonCode);
        }

        var will = await watcher.ReceiveAsync("the will after keep-alive expiry");
        Assert.Equal((willTopic, "gone"), (will.Topic, will.Text()));
    }

    [Fact]
    public async Task The_will_is_published_when_the_socket_drops()
    {
        var willTopic = $"will/{Guid.NewGuid():N}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var device = await RawMqttClient.OpenAsync(_port);
        await device.ConnectAsync(WithWill("dev-" + Guid.NewGuid().ToString("N"), willTopic, keepAlive: 60));
        device.Drop();

        Assert.Equal("gone", (await watcher.ReceiveAsync("the will after the socket dropped")).Text());
    }

    [Fact]
    public async Task The_will_is_published_when_the_broker_closes_a_connection_for_a_protocol_error()
    {
        var willTopic = $"will/{Guid.NewGuid():N}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var device = await RawMqttClient.OpenAsync(_port);
        await device.ConnectAsync(WithWill("dev-" + Guid.NewGuid().ToString("N"), willTopic, keepAlive: 60));
        await device.SendAsync(w => MqttEncoder.WriteConnect(w, new ConnectPacket { ClientId = "again" }));

        await device.ReadUntilClosedAsync();
        Assert.Equal("gone", (await watcher.ReceiveAsync("the will after a second CONNECT")).Text());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_normal_DISCONNECT_discards_the_will(MqttProtocolVersion version)
    {
        var willTopic = $"will/{Guid.NewGuid():N}";
        var marker = willTopic + "/marker";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(willTopic, MqttQualityOfServiceLevel.AtLeastOnce);
        await watcher.SubscribeAsync(marker, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var device = await RawMqttClient.OpenAsync(_port);
        await device.ConnectAsync(WithWill("dev-" + Guid.NewGuid().ToString("N"), willTopic, keepAlive: 60, version));
        await device.SendAsync(w => MqttEncoder.WriteDisconnect(w, DisconnectPacket.Normal, version));

        // The broker closes the socket once the session has heard of the DISCONNECT; any will would be out by then.
        Assert.Empty(await device.ReadUntilClosedAsync());
        await watcher.PublishAsync(marker, "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await watcher.ReceiveUntilAsync(marker));
    }
}
