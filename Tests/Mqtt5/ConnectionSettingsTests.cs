using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;
using Wire = OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>What the broker decides for a connection: server keep alive, session expiry cap.</summary>
[Collection(ConfiguredBrokerCollection.Name)]
public sealed class ConnectionSettingsTests(ConfiguredBrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Fact]
    public async Task A_client_asking_for_a_longer_keep_alive_than_the_server_allows_is_given_the_servers()
    {
        await using var client = await TestClient.ConnectAsync(_port, "ka-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500,
            o => o.WithKeepAlivePeriod(TimeSpan.FromSeconds(600)));
        Assert.Equal((ushort)ConfiguredBrokerFixture.ServerKeepAlive, client.ConnectResult.ServerKeepAlive);
    }

    [Fact]
    public async Task A_session_expiry_above_the_cap_is_cut_and_CONNACK_says_so()
    {
        await using var client = await TestClient.ConnectAsync(_port, "exp-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500,
            o => o.WithCleanStart(true).WithSessionExpiryInterval(uint.MaxValue));
        Assert.Equal(ConfiguredBrokerFixture.MaximumSessionExpiry, client.ConnectResult.SessionExpiryInterval);

        // Within the cap: CONNACK carries no Session Expiry Interval, so the client's own stands.
        await using var within = await RawMqttClient.OpenAsync(_port);
        var connAck = await within.ConnectAsync(new Wire.ConnectPacket { ProtocolVersion = Wire.MqttProtocolVersion.V500, ClientId = "exp-" + Guid.NewGuid().ToString("N"), SessionExpiryInterval = 60 });
        Assert.Null(connAck.SessionExpiryInterval);
    }
}

/// <summary>Session expiry and will delay, end to end.</summary>
[Collection(BrokerCollection.Name)]
public sealed class SessionExpiryAndWillDelayTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;
    private readonly IGrainFactory _grains = fixture.Broker.Grains;

    [Fact]
    public async Task A_session_is_gone_after_its_expiry_and_not_before()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var device = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(2));
        await device.SubscribeAsync($"expiry/{clientId}", MqttQualityOfServiceLevel.AtLeastOnce);
        await device.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);
        Assert.True((await _grains.GetGrain<OrleansMqtt.Grains.ISessionGrain>(clientId).GetInfo()).Exists, "the session ended before its expiry");

        await _grains.WaitForSessionAsync(clientId, s => !s.Exists, "expired");
        await using var back = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(2));
        Assert.False(back.ConnectResult.IsSessionPresent);
    }

    [Fact]
    public async Task A_client_can_end_its_session_at_disconnect_by_setting_expiry_to_zero()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        await using var device = await RawMqttClient.OpenAsync(_port);
        await device.ConnectAsync(new Wire.ConnectPacket { ProtocolVersion = Wire.MqttProtocolVersion.V500, ClientId = clientId, CleanStart = false, SessionExpiryInterval = 600 });
        await device.SendAsync(w => Wire.MqttEncoder.WriteDisconnect(w, new Wire.DisconnectPacket { SessionExpiryInterval = 0 }, Wire.MqttProtocolVersion.V500));
        await _grains.WaitForSessionAsync(clientId, s => !s.Exists, "ended at DISCONNECT");
    }

    [Fact]
    public async Task A_delayed_will_is_sent_after_its_delay_unless_the_client_returns_first()
    {
        var root = $"willdelay/{Guid.NewGuid():N}";
        await using var watcher = await TestClient.ConnectAsync(_port, "watch-" + Guid.NewGuid().ToString("N"));
        await watcher.SubscribeAsync(root + "/#", MqttQualityOfServiceLevel.AtLeastOnce);

        Action<MqttClientOptionsBuilder> Will(string name) => o => o.WithCleanStart(false).WithSessionExpiryInterval(60)
            .WithWillTopic($"{root}/{name}").WithWillPayload(name).WithWillDelayInterval(2).WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);

        var returnsId = "returns-" + Guid.NewGuid().ToString("N");
        var returns = await TestClient.ConnectAsync(_port, returnsId, MqttProtocolVersion.V500, Will("returns"));
        var staysAway = await TestClient.ConnectAsync(_port, "away-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500, Will("away"));
        returns.Drop();
        staysAway.Drop();
        var dropped = DateTime.UtcNow;
        await _grains.WaitUntilOfflineAsync(returnsId);
        await using var back = await TestClient.ConnectAsync(_port, returnsId, MqttProtocolVersion.V500, Will("returns"));

        // The will of the client that stayed away is the first and only one to arrive.
        var will = await watcher.ReceiveAsync("the will of the client that stayed away");
        Assert.Equal("away", will.Text());
        Assert.True(DateTime.UtcNow - dropped >= TimeSpan.FromSeconds(1.5), "the will came before its delay");
        await watcher.PublishAsync(root + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await watcher.ReceiveUntilAsync(root + "/end"));
    }
}

/// <summary>A broker being drained tells new clients where to go.</summary>
public sealed class ServerRedirectTests
{
    [Theory]
    [InlineData(false, Wire.ReasonCode.UseAnotherServer)]
    [InlineData(true, Wire.ReasonCode.ServerMoved)]
    public async Task CONNECT_is_answered_with_the_server_reference(bool permanent, Wire.ReasonCode expected)
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Redirect:ServerReference"] = "mqtt-2.example.net:1883",
            ["Mqtt:Redirect:Permanent"] = permanent.ToString(),
        });
        await using var v5 = await RawMqttClient.OpenAsync(broker.Port);
        var connAck = await v5.ConnectAsync(new Wire.ConnectPacket { ProtocolVersion = Wire.MqttProtocolVersion.V500, ClientId = "moved" });
        Assert.Equal((expected, "mqtt-2.example.net:1883"), (connAck.ReasonCode, connAck.ServerReference));

        await using var v3 = await RawMqttClient.OpenAsync(broker.Port);
        Assert.Equal(Wire.ReasonCode.ServerUnavailable, (await v3.ConnectAsync(new Wire.ConnectPacket { ClientId = "moved" })).ReasonCode);
    }
}
