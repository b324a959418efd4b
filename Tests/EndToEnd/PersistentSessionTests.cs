using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class PersistentSessionTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;
    private readonly IGrainFactory _grains = fixture.Broker.Grains;

    private static Action<MqttClientOptionsBuilder> Persistent => o => o.WithCleanSession(false).WithSessionExpiryInterval(600);

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Messages_published_while_offline_arrive_on_reconnect_in_order(MqttProtocolVersion version)
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var topic = $"offline/{clientId}/+";
        var device = await TestClient.ConnectAsync(_port, clientId, version, Persistent);
        Assert.False(device.ConnectResult.IsSessionPresent);
        await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.ExactlyOnce);
        await device.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);

        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);
        for (var i = 0; i < 20; i++)
        {
            await publisher.PublishAsync($"offline/{clientId}/{i % 3}", i.ToString(), i % 2 == 0 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.ExactlyOnce);
        }

        await publisher.PublishAsync($"offline/{clientId}/qos0", "dropped while offline", MqttQualityOfServiceLevel.AtMostOnce);

        // PUBACK of a later message from the same client means the QoS 0 one before it has been routed.
        await publisher.PublishAsync($"elsewhere/{clientId}", "sync", MqttQualityOfServiceLevel.AtLeastOnce);

        await using var back = await TestClient.ConnectAsync(_port, clientId, version, Persistent);
        Assert.True(back.ConnectResult.IsSessionPresent);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i.ToString(), (await back.ReceiveAsync($"queued message {i}")).Text());
        }

        await publisher.PublishAsync($"offline/{clientId}/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await back.ReceiveUntilAsync($"offline/{clientId}/end"));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.ExactlyOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task An_unacknowledged_message_is_resent_with_DUP_on_reconnect(MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var topic = $"redeliver/{clientId}";
        var device = await TestClient.ConnectAsync(_port, clientId, version, Persistent, autoAcknowledge: false);
        await device.SubscribeAsync(topic, qos);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);
        await publisher.PublishAsync(topic, "unacked", qos);

        var first = await device.ReceiveAsync("the message, which the device will not acknowledge");
        Assert.False(first.Dup);
        device.Drop();
        await _grains.WaitUntilOfflineAsync(clientId);

        await using var back = await TestClient.ConnectAsync(_port, clientId, version, Persistent);
        Assert.True(back.ConnectResult.IsSessionPresent);
        var again = await back.ReceiveAsync("the message again");
        Assert.Equal(("unacked", true), (again.Text(), again.Dup));

        // Acknowledged now: a third connection gets nothing more.
        await _grains.WaitForSessionAsync(clientId, s => s.InFlight == 0, "had its message acknowledged");
        await back.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);
        await using var third = await TestClient.ConnectAsync(_port, clientId, version, Persistent);
        await third.SubscribeAsync(topic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await third.ReceiveUntilAsync(topic + "/end"));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_clean_session_forgets_subscriptions_at_disconnect(MqttProtocolVersion version)
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var topic = $"clean/{clientId}";
        var device = await TestClient.ConnectAsync(_port, clientId, version, o => o.WithCleanSession(true));
        await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await device.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);

        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);
        await publisher.PublishAsync(topic, "nobody", MqttQualityOfServiceLevel.AtLeastOnce);

        await using var back = await TestClient.ConnectAsync(_port, clientId, version, o => o.WithCleanSession(false).WithSessionExpiryInterval(60));
        Assert.False(back.ConnectResult.IsSessionPresent);
        await back.SubscribeAsync(topic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await back.ReceiveUntilAsync(topic + "/end"));
    }

    [Fact]
    public async Task Clean_start_discards_a_stored_session()
    {
        var clientId = "dev-" + Guid.NewGuid().ToString("N");
        var device = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, Persistent);
        await device.SubscribeAsync($"discard/{clientId}", MqttQualityOfServiceLevel.AtLeastOnce);
        await device.DisposeAsync();
        await _grains.WaitUntilOfflineAsync(clientId);

        await using var fresh = await TestClient.ConnectAsync(_port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(true).WithSessionExpiryInterval(600));
        Assert.False(fresh.ConnectResult.IsSessionPresent);
    }
}
