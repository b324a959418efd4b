using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>Receive Maximum and Maximum Packet Size, in both directions.</summary>
[Collection(ConfiguredBrokerCollection.Name)]
public sealed class FlowControlTests(ConfiguredBrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private async Task<RawMqttClient> ConnectAsync(string name, ushort receiveMaximum = ushort.MaxValue, uint? maximumPacketSize = null)
    {
        var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await client.ConnectAsync(new ConnectPacket
        {
            ProtocolVersion = MqttProtocolVersion.V500,
            ClientId = name + "-" + Guid.NewGuid().ToString("N"),
            KeepAliveSeconds = 60,
            ReceiveMaximum = receiveMaximum,
            MaximumPacketSize = maximumPacketSize,
        });
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        return client;
    }

    [Fact]
    public async Task The_broker_never_has_more_unacknowledged_messages_out_than_the_client_allows()
    {
        var topic = $"flow/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub", receiveMaximum: 2);
        await subscriber.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtLeastOnce));
        Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);
        await using var publisher = await ConnectAsync("pub");
        for (ushort i = 1; i <= 5; i++)
        {
            await publisher.PublishAsync(topic, [(byte)('0' + i)], QualityOfService.AtLeastOnce, i);
            Assert.Equal(PacketType.PubAck, (await publisher.ReadFrameAsync()).Type);
        }

        // Two arrive; the third waits for an acknowledgement.
        var first = await subscriber.ReadPublishAsync();
        var second = await subscriber.ReadPublishAsync();
        await subscriber.SendAsync(MqttEncoder.WritePingReq);
        Assert.Equal(PacketType.PingResp, (await subscriber.ReadFrameAsync()).Type);

        await subscriber.SendAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, first.PacketId), MqttProtocolVersion.V500));
        var third = await subscriber.ReadPublishAsync();
        Assert.Equal(["1", "2", "3"], new[] { first, second, third }.Select(p => System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(p.Payload))));
    }

    [Fact]
    public async Task A_client_that_exceeds_the_brokers_receive_maximum_is_disconnected_with_0x93()
    {
        await using var publisher = await ConnectAsync("pub");
        await publisher.SendAsync(w =>
        {
            for (ushort i = 1; i <= ConfiguredBrokerFixture.ReceiveMaximum + 1; i++)
            {
                MqttEncoder.WritePublish(w, new PublishPacket { Topic = "flow/over", Qos = QualityOfService.AtLeastOnce, PacketId = i }, MqttProtocolVersion.V500);
            }
        });

        Assert.Equal(ReasonCode.ReceiveMaximumExceeded, (await publisher.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task A_message_larger_than_the_client_allows_is_not_sent_to_it()
    {
        var topic = $"flow/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub", maximumPacketSize: 200);
        await subscriber.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtLeastOnce));
        Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);
        await using var publisher = await ConnectAsync("pub");
        await publisher.PublishAsync(topic, new byte[500], QualityOfService.AtLeastOnce, 1);
        await publisher.PublishAsync(topic, "small"u8.ToArray(), QualityOfService.AtLeastOnce, 2);

        var got = await subscriber.ReadPublishAsync();
        Assert.Equal("small", System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(got.Payload)));
    }

    [Fact]
    public async Task A_packet_larger_than_the_broker_allows_is_refused_with_0x95_before_it_arrives_whole()
    {
        await using var publisher = await ConnectAsync("pub");

        // Only the fixed header of a PUBLISH announcing more than Maximum Packet Size.
        var remaining = ConfiguredBrokerFixture.MaxPacketSize + 10;
        await publisher.SendBytesAsync([0x30, (byte)(0x80 | (remaining & 0x7F)), (byte)(remaining >> 7)]);
        var disconnect = await publisher.ReadDisconnectAsync();
        Assert.Equal(ReasonCode.PacketTooLarge, disconnect.ReasonCode);
    }

    [Fact]
    public async Task CONNACK_announces_the_limits()
    {
        await using var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await client.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "caps-" + Guid.NewGuid().ToString("N") });
        Assert.Equal((ushort)ConfiguredBrokerFixture.ReceiveMaximum, connAck.ReceiveMaximum);
        Assert.Equal((uint)ConfiguredBrokerFixture.MaxPacketSize, connAck.MaximumPacketSize);
        Assert.Equal((ushort)ConfiguredBrokerFixture.TopicAliasMaximum, connAck.TopicAliasMaximum);
        Assert.True(connAck.RetainAvailable);
        Assert.True(connAck.WildcardSubscriptionAvailable);
        Assert.True(connAck.SubscriptionIdentifiersAvailable);
        Assert.True(connAck.SharedSubscriptionAvailable);
        Assert.Null(connAck.MaximumQos); // absent means QoS 2 is supported
    }
}
