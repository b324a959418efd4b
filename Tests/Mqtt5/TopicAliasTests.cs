using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

[Collection(ConfiguredBrokerCollection.Name)]
public sealed class TopicAliasTests(ConfiguredBrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private async Task<RawMqttClient> ConnectAsync(string name, ushort topicAliasMaximum = 0)
    {
        var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await client.ConnectAsync(new ConnectPacket
        {
            ProtocolVersion = MqttProtocolVersion.V500,
            ClientId = name + "-" + Guid.NewGuid().ToString("N"),
            KeepAliveSeconds = 60,
            TopicAliasMaximum = topicAliasMaximum,
        });
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        Assert.Equal((ushort)ConfiguredBrokerFixture.TopicAliasMaximum, connAck.TopicAliasMaximum);
        return client;
    }

    [Fact]
    public async Task A_client_can_publish_by_alias_after_setting_it()
    {
        var topic = $"alias/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub");
        await subscriber.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtLeastOnce));
        Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);

        await using var publisher = await ConnectAsync("pub");
        await publisher.PublishAsync(topic, "first"u8.ToArray(), QualityOfService.AtLeastOnce, 1, new PublishProperties { TopicAlias = 3 });
        await publisher.PublishAsync("", "second"u8.ToArray(), QualityOfService.AtLeastOnce, 2, new PublishProperties { TopicAlias = 3 });
        Assert.Equal(PacketType.PubAck, (await publisher.ReadFrameAsync()).Type);
        Assert.Equal(PacketType.PubAck, (await publisher.ReadFrameAsync()).Type);

        foreach (var expected in new[] { "first", "second" })
        {
            var publish = await subscriber.ReadPublishAsync();
            Assert.Equal((topic, expected), (publish.Topic, System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(publish.Payload))));
            await subscriber.SendAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, publish.PacketId), MqttProtocolVersion.V500));
        }
    }

    [Fact]
    public async Task An_alias_above_the_maximum_is_refused_with_0x94()
    {
        await using var publisher = await ConnectAsync("pub");
        await publisher.PublishAsync("alias/x", "x"u8.ToArray(), properties: new PublishProperties { TopicAlias = ConfiguredBrokerFixture.TopicAliasMaximum + 1 });
        Assert.Equal(ReasonCode.TopicAliasInvalid, (await publisher.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task An_alias_that_was_never_set_is_a_protocol_error()
    {
        await using var publisher = await ConnectAsync("pub");
        await publisher.PublishAsync("", "x"u8.ToArray(), properties: new PublishProperties { TopicAlias = 2 });
        Assert.Equal(ReasonCode.ProtocolError, (await publisher.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task The_broker_sends_a_topic_once_then_its_alias_within_the_clients_maximum()
    {
        var root = $"alias/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub", topicAliasMaximum: 1);
        await subscriber.SubscribeAsync(1, new TopicSubscription(root + "/#", QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);

        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MQTTnet.Formatter.MqttProtocolVersion.V500);
        await publisher.PublishAsync(root + "/a", "1", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(root + "/a", "2", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(root + "/b", "3", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);

        var first = await subscriber.ReadPublishAsync();
        Assert.Equal((root + "/a", (ushort?)1), (first.Topic, first.Properties?.TopicAlias));
        var second = await subscriber.ReadPublishAsync();
        Assert.Equal(("", (ushort?)1), (second.Topic, second.Properties?.TopicAlias));

        // The client allows one alias: a second topic goes in full, without one.
        var third = await subscriber.ReadPublishAsync();
        Assert.Equal((root + "/b", (ushort?)null), (third.Topic, third.Properties?.TopicAlias));
    }
}
