using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>Reason codes on acknowledgements and on the broker's DISCONNECT, each provoked.</summary>
[Collection(ConfiguredBrokerCollection.Name)]
public sealed class ReasonCodeTests(ConfiguredBrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private async Task<RawMqttClient> ConnectAsync(string name, bool requestProblemInformation = true)
    {
        var client = await RawMqttClient.OpenAsync(_port);
        var connAck = await client.ConnectAsync(new ConnectPacket
        {
            ProtocolVersion = MqttProtocolVersion.V500,
            ClientId = name + "-" + Guid.NewGuid().ToString("N"),
            KeepAliveSeconds = 60,
            RequestProblemInformation = requestProblemInformation,
        });
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        return client;
    }

    [Fact]
    public async Task PUBACK_says_0x10_when_no_subscription_matched()
    {
        await using var client = await ConnectAsync("pub");
        await client.PublishAsync($"nobody/{Guid.NewGuid():N}", "x"u8.ToArray(), QualityOfService.AtLeastOnce, 1);
        var ack = MqttDecoder.DecodeAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal((PacketType.PubAck, ReasonCode.NoMatchingSubscribers), (ack.Type, ack.ReasonCode));
    }

    [Fact]
    public async Task UNSUBACK_says_0x11_for_a_filter_that_was_not_subscribed_and_0x00_for_one_that_was()
    {
        await using var client = await ConnectAsync("unsub");
        await client.SubscribeAsync(1, new TopicSubscription("reason/held", QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await client.ReadFrameAsync()).Type);
        await client.SendAsync(w => MqttEncoder.WriteUnsubscribe(w, new UnsubscribePacket { PacketId = 2, Filters = ["reason/held", "reason/never"] }, MqttProtocolVersion.V500));
        var unsubAck = MqttDecoder.DecodeUnsubAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal([ReasonCode.Success, ReasonCode.NoSubscriptionExisted], unsubAck.ReasonCodes);
    }

    [Fact]
    public async Task SUBACK_says_0x8F_for_an_invalid_filter_and_grants_the_others()
    {
        await using var client = await ConnectAsync("sub");
        await client.SubscribeAsync(1, new TopicSubscription("reason/#/bad", QualityOfService.AtLeastOnce), new TopicSubscription("reason/good", QualityOfService.ExactlyOnce));
        var subAck = MqttDecoder.DecodeSubAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal([ReasonCode.TopicFilterInvalid, ReasonCode.GrantedQoS2], subAck.ReasonCodes);
        Assert.Equal("1 of 2 topic filters refused", subAck.ReasonString);
    }

    [Fact]
    public async Task PUBCOMP_says_0x92_for_a_PUBREL_of_an_unknown_packet_id()
    {
        await using var client = await ConnectAsync("rel");
        await client.SendAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRel, 99), MqttProtocolVersion.V500));
        var ack = MqttDecoder.DecodeAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal((PacketType.PubComp, ReasonCode.PacketIdentifierNotFound), (ack.Type, ack.ReasonCode));
        Assert.False(string.IsNullOrEmpty(ack.ReasonString));
    }

    [Fact]
    public async Task A_malformed_packet_gets_DISCONNECT_0x81_with_a_reason_string()
    {
        await using var client = await ConnectAsync("bad");

        // PUBLISH at QoS 3: reserved, malformed [MQTT-3.3.1-4].
        await client.SendBytesAsync([0x36, 0x05, 0x00, 0x01, (byte)'a', 0x00, 0x01]);
        var disconnect = await client.ReadDisconnectAsync();
        Assert.Equal(ReasonCode.MalformedPacket, disconnect.ReasonCode);
        Assert.False(string.IsNullOrEmpty(disconnect.ReasonString));
    }

    [Fact]
    public async Task A_protocol_error_gets_DISCONNECT_0x82_and_no_reason_string_when_the_client_asked_for_none()
    {
        await using var client = await ConnectAsync("twice", requestProblemInformation: false);
        await client.SendAsync(w => MqttEncoder.WriteConnect(w, new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "again" }));
        var disconnect = await client.ReadDisconnectAsync();
        Assert.Equal(ReasonCode.ProtocolError, disconnect.ReasonCode);
        Assert.Null(disconnect.ReasonString);
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_disconnected_with_0x97_and_others_carry_on()
    {
        var topic = $"reason/{Guid.NewGuid():N}";
        await using var slow = await ConnectAsync("slow");
        await slow.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await slow.ReadFrameAsync()).Type);
        await using var fast = await TestClient.ConnectAsync(_port, "fast-" + Guid.NewGuid().ToString("N"), MQTTnet.Formatter.MqttProtocolVersion.V500);
        await fast.SubscribeAsync(topic + "/end", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);

        // The slow client reads nothing while a few megabytes are published to it.
        await using var publisher = await ConnectAsync("pub");
        var payload = new byte[3000];
        await publisher.SendAsync(w =>
        {
            for (var i = 0; i < 3000; i++)
            {
                MqttEncoder.WritePublish(w, new PublishPacket { Topic = topic, Payload = new System.Buffers.ReadOnlySequence<byte>(payload) }, MqttProtocolVersion.V500);
            }
        });

        var disconnect = await slow.ReadDisconnectAsync();
        Assert.Equal(ReasonCode.QuotaExceeded, disconnect.ReasonCode);
        await publisher.PublishAsync(topic + "/end", "end"u8.ToArray(), QualityOfService.AtLeastOnce, 1);
        Assert.Equal("end", (await fast.ReceiveAsync("a message for a client that reads")).Text());
    }

    [Fact]
    public async Task PUBREC_says_0x10_when_no_subscription_matched_a_QoS_2_message()
    {
        await using var client = await ConnectAsync("pub2");
        await client.PublishAsync($"nobody/{Guid.NewGuid():N}", "x"u8.ToArray(), QualityOfService.ExactlyOnce, 1);
        var ack = MqttDecoder.DecodeAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal((PacketType.PubRec, ReasonCode.NoMatchingSubscribers), (ack.Type, ack.ReasonCode));
    }

    [Fact]
    public async Task A_payload_that_is_not_the_UTF8_it_claims_gets_PUBREC_0x99_at_QoS_2_and_DISCONNECT_0x99_at_QoS_0()
    {
        var notUtf8 = new byte[] { 0xC3, 0x28 };
        var utf8 = new PublishProperties { PayloadFormatIndicator = 1 };
        await using var client = await ConnectAsync("fmt");
        await client.PublishAsync("reason/format", notUtf8, QualityOfService.ExactlyOnce, 1, utf8);
        var ack = MqttDecoder.DecodeAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal((PacketType.PubRec, ReasonCode.PayloadFormatInvalid), (ack.Type, ack.ReasonCode));

        await client.PublishAsync("reason/format", notUtf8, QualityOfService.AtMostOnce, properties: utf8);
        Assert.Equal(ReasonCode.PayloadFormatInvalid, (await client.ReadDisconnectAsync()).ReasonCode);
    }

    [Fact]
    public async Task UNSUBACK_says_0x8F_for_an_invalid_filter()
    {
        await using var client = await ConnectAsync("unsub");
        await client.SendAsync(w => MqttEncoder.WriteUnsubscribe(w, new UnsubscribePacket { PacketId = 3, Filters = ["a/#/b"] }, MqttProtocolVersion.V500));
        var unsubAck = MqttDecoder.DecodeUnsubAck((await client.ReadFrameAsync()).Frame, MqttProtocolVersion.V500);
        Assert.Equal([ReasonCode.TopicFilterInvalid], unsubAck.ReasonCodes);
    }
}
