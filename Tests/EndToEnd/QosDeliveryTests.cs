using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;
using Wire = OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.EndToEnd;

[Collection(BrokerCollection.Name)]
public sealed class QosDeliveryTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQualityOfServiceLevel.ExactlyOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task A_numbered_stream_arrives_whole_and_in_order(MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        var topic = $"qos/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), version);
        await subscriber.SubscribeAsync(topic, qos);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);

        const int count = 200;
        for (var i = 0; i < count; i++)
        {
            var result = await publisher.PublishAsync(topic, i.ToString(), qos);
            Assert.True(result.IsSuccess, $"publish {i} was refused: {result.ReasonCode}");
        }

        for (var i = 0; i < count; i++)
        {
            var message = await subscriber.ReceiveAsync($"message {i}");
            Assert.Equal(i.ToString(), message.Text());
            Assert.Equal(qos, message.QualityOfServiceLevel);
            Assert.False(message.Retain);
        }
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Delivery_QoS_is_the_lower_of_publish_and_subscription(MqttProtocolVersion version)
    {
        var topic = $"downgrade/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), version);
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);

        await publisher.PublishAsync(topic, "two", MqttQualityOfServiceLevel.ExactlyOnce);
        await publisher.PublishAsync(topic, "zero", MqttQualityOfServiceLevel.AtMostOnce);

        var first = await subscriber.ReceiveAsync("the QoS 2 message");
        Assert.Equal(("two", MqttQualityOfServiceLevel.AtLeastOnce), (first.Text(), first.QualityOfServiceLevel));
        var second = await subscriber.ReceiveAsync("the QoS 0 message");
        Assert.Equal(("zero", MqttQualityOfServiceLevel.AtMostOnce), (second.Text(), second.QualityOfServiceLevel));
    }

    [Fact]
    public async Task A_QoS_2_message_resent_before_PUBREL_is_delivered_once()
    {
        var topic = $"exactly-once/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"));
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.ExactlyOnce);

        await using var raw = await RawMqttClient.OpenAsync(_port);
        await raw.ConnectAsync(new Wire.ConnectPacket { ClientId = "raw-" + Guid.NewGuid().ToString("N"), KeepAliveSeconds = 60 });
        var publish = new Wire.PublishPacket
        {
            Topic = topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>("once"u8.ToArray()),
            Qos = Wire.QualityOfService.ExactlyOnce,
            PacketId = 7,
        };
        await raw.SendAsync(w => Wire.MqttEncoder.WritePublish(w, publish, raw.Version));
        Assert.Equal(Wire.PacketType.PubRec, (await raw.ReadFrameAsync()).Type);

        // The client did not see PUBREC in time and sends the same packet again with DUP [MQTT-4.3.3-10].
        await raw.SendAsync(w => Wire.MqttEncoder.WritePublish(w, publish with { Dup = true }, raw.Version));
        Assert.Equal(Wire.PacketType.PubRec, (await raw.ReadFrameAsync()).Type);
        await raw.SendAsync(w => Wire.MqttEncoder.WriteAck(w, new Wire.PacketIdAck(Wire.PacketType.PubRel, 7), raw.Version));
        Assert.Equal(Wire.PacketType.PubComp, (await raw.ReadFrameAsync()).Type);

        var marker = topic + "/marker";
        await subscriber.SubscribeAsync(marker);
        await subscriber.PublishAsync(marker, "end");
        var received = await subscriber.ReceiveUntilAsync(marker);
        Assert.Equal(["once"], received.Select(m => m.Text()));
    }

    [Fact]
    public async Task QoS_2_packets_sent_together_are_each_published_once_and_answered_in_the_order_they_came()
    {
        var topic = $"exactly-once/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"));
        await subscriber.SubscribeAsync(topic + "/#", MqttQualityOfServiceLevel.ExactlyOnce);

        await using var raw = await RawMqttClient.OpenAsync(_port);
        await raw.ConnectAsync(new Wire.ConnectPacket { ClientId = "raw-" + Guid.NewGuid().ToString("N"), KeepAliveSeconds = 60, ProtocolVersion = Wire.MqttProtocolVersion.V500 });
        Wire.PublishPacket Publish(string subtopic, string text, Wire.QualityOfService qos, ushort packetId, bool dup = false) => new()
        {
            Topic = $"{topic}/{subtopic}",
            Payload = new System.Buffers.ReadOnlySequence<byte>(System.Text.Encoding.UTF8.GetBytes(text)),
            Qos = qos,
            PacketId = packetId,
            Dup = dup,
        };

        // One write: QoS 2 to two topics, a resend of the first before its PUBREL, a QoS 1 message between, PUBRELs
        // mixed with PUBLISH packets, and a PUBREL for an id the broker never saw.
        var exactlyOnce = Wire.QualityOfService.ExactlyOnce;
        await raw.SendAsync(w =>
        {
            Wire.MqttEncoder.WritePublish(w, Publish("a", "a1", exactlyOnce, 1), raw.Version);
            Wire.MqttEncoder.WritePublish(w, Publish("b", "b1", exactlyOnce, 2), raw.Version);
            Wire.MqttEncoder.WritePublish(w, Publish("a", "a1", exactlyOnce, 1, dup: true), raw.Version);
            Wire.MqttEncoder.WritePublish(w, Publish("a", "a2", Wire.QualityOfService.AtLeastOnce, 3), raw.Version);
            Wire.MqttEncoder.WriteAck(w, new Wire.PacketIdAck(Wire.PacketType.PubRel, 1), raw.Version);
            Wire.MqttEncoder.WritePublish(w, Publish("a", "a3", exactlyOnce, 4), raw.Version);
            Wire.MqttEncoder.WritePublish(w, Publish("a", "a3", exactlyOnce, 4, dup: true), raw.Version);
            Wire.MqttEncoder.WriteAck(w, new Wire.PacketIdAck(Wire.PacketType.PubRel, 2), raw.Version);
            Wire.MqttEncoder.WriteAck(w, new Wire.PacketIdAck(Wire.PacketType.PubRel, 4), raw.Version);
            Wire.MqttEncoder.WriteAck(w, new Wire.PacketIdAck(Wire.PacketType.PubRel, 9), raw.Version);
        });

        var answers = new List<(Wire.PacketType, ushort, Wire.ReasonCode)>();
        for (var i = 0; i < 9; i++)
        {
            var ack = Wire.MqttDecoder.DecodeAck((await raw.ReadFrameAsync()).Frame, raw.Version);
            answers.Add((ack.Type, ack.PacketId, ack.ReasonCode));
        }

        Assert.Equal(
        [
            (Wire.PacketType.PubRec, 1, Wire.ReasonCode.Success),
            (Wire.PacketType.PubRec, 2, Wire.ReasonCode.Success),
            (Wire.PacketType.PubRec, 1, Wire.ReasonCode.Success),
            (Wire.PacketType.PubAck, 3, Wire.ReasonCode.Success),
            (Wire.PacketType.PubComp, 1, Wire.ReasonCode.Success),
            (Wire.PacketType.PubRec, 4, Wire.ReasonCode.Success),
            (Wire.PacketType.PubRec, 4, Wire.ReasonCode.Success),
            (Wire.PacketType.PubComp, 2, Wire.ReasonCode.Success),
            (Wire.PacketType.PubComp, 4, Wire.ReasonCode.Success),
        ], answers);
        var unknown = Wire.MqttDecoder.DecodeAck((await raw.ReadFrameAsync()).Frame, raw.Version);
        Assert.Equal((Wire.PacketType.PubComp, (ushort)9, Wire.ReasonCode.PacketIdentifierNotFound), (unknown.Type, unknown.PacketId, unknown.ReasonCode));

        var marker = topic + "/marker";
        await subscriber.PublishAsync(marker, "end");
        var received = await subscriber.ReceiveUntilAsync(marker);
        Assert.Equal(["a1", "a2", "a3"], received.Where(m => m.Topic == topic + "/a").Select(m => m.Text()));
        Assert.Equal(["b1"], received.Where(m => m.Topic == topic + "/b").Select(m => m.Text()));
    }
}
