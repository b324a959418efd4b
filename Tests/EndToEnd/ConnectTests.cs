using MQTTnet;
using MQTTnet.Formatter;
using OrleansMqtt.Tests.Infrastructure;
using Wire = OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class ConnectTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Fact]
    public async Task A_v311_client_with_an_empty_id_and_a_persistent_session_is_refused_with_identifier_rejected()
    {
        await using var raw = await RawMqttClient.OpenAsync(_port);
        var connAck = await raw.ConnectAsync(new Wire.ConnectPacket { ClientId = "", CleanStart = false });
        Assert.Equal(Wire.ReasonCode.ClientIdentifierNotValid, connAck.ReasonCode);
        Assert.False(connAck.SessionPresent);
        Assert.Empty(await raw.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task A_v311_client_with_an_empty_id_and_a_clean_session_is_accepted()
    {
        await using var raw = await RawMqttClient.OpenAsync(_port);
        var connAck = await raw.ConnectAsync(new Wire.ConnectPacket { ClientId = "", CleanStart = true });
        Assert.Equal(Wire.ReasonCode.Success, connAck.ReasonCode);
    }

    [Fact]
    public async Task A_v5_client_with_an_empty_id_is_assigned_one()
    {
        await using var client = await TestClient.ConnectAsync(_port, "", MqttProtocolVersion.V500);
        Assert.False(string.IsNullOrEmpty(client.ConnectResult.AssignedClientIdentifier));

        var topic = $"assigned/{Guid.NewGuid():N}";
        await client.SubscribeAsync(topic);
        await client.PublishAsync(topic, "works", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("works", (await client.ReceiveAsync("its own message")).Text());
    }

    [Fact]
    public async Task An_unknown_protocol_level_gets_CONNACK_0x01_and_the_connection_closes()
    {
        await using var raw = await RawMqttClient.OpenAsync(_port);

        // CONNECT, protocol name "MQTT", level 9.
        await raw.SendBytesAsync([0x10, 12, 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 9, 0x02, 0, 60, 0, 0]);
        var frame = await raw.ReadFrameAsync();
        var connAck = Wire.MqttDecoder.DecodeConnAck(frame.Frame, Wire.MqttProtocolVersion.V311);
        Assert.Equal(Wire.ReasonCode.UnsupportedProtocolVersion, connAck.ReasonCode);
        Assert.Empty(await raw.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task A_packet_other_than_CONNECT_first_closes_the_connection()
    {
        await using var raw = await RawMqttClient.OpenAsync(_port);
        await raw.SendAsync(Wire.MqttEncoder.WritePingReq);
        Assert.Empty(await raw.ReadUntilClosedAsync());
    }

    [Theory]
    [InlineData(Wire.MqttProtocolVersion.V310)]
    [InlineData(Wire.MqttProtocolVersion.V311)]
    [InlineData(Wire.MqttProtocolVersion.V500)]
    public async Task Every_protocol_version_connects_and_pings(Wire.MqttProtocolVersion version)
    {
        await using var raw = await RawMqttClient.OpenAsync(_port);
        var connAck = await raw.ConnectAsync(new Wire.ConnectPacket { ProtocolVersion = version, ClientId = "v-" + Guid.NewGuid().ToString("N")[..16], KeepAliveSeconds = 30 });
        Assert.Equal(Wire.ReasonCode.Success, connAck.ReasonCode);
        await raw.SendAsync(Wire.MqttEncoder.WritePingReq);
        Assert.Equal(Wire.PacketType.PingResp, (await raw.ReadFrameAsync()).Type);
    }

    [Fact]
    public async Task A_v5_client_is_told_what_the_broker_supports()
    {
        await using var client = await TestClient.ConnectAsync(_port, "caps-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        var result = client.ConnectResult;
        Assert.True(result.RetainAvailable);
        Assert.True(result.WildcardSubscriptionAvailable);
        Assert.True(result.SubscriptionIdentifiersAvailable);
        Assert.NotNull(result.ReceiveMaximum);
        Assert.NotNull(result.MaximumPacketSize);
    }

    [Fact]
    public async Task A_connection_that_never_sends_CONNECT_is_closed()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?> { ["Mqtt:ConnectTimeout"] = "00:00:01" });
        await using var raw = await RawMqttClient.OpenAsync(broker.Port);
        var started = DateTime.UtcNow;
        Assert.Empty(await raw.ReadUntilClosedAsync());
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }
}
