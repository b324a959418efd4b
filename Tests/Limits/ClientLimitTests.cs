using OrleansMqtt.Gateway;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// The per-client limits over real sockets: each one answers as MQTT 5.0 names it (v3.1.1: close, or SUBACK 0x80),
/// is counted in <c>mqtt.limit.hits</c>, and leaves the broker serving everyone else.
/// </summary>
[Collection(LimitedBrokerCollection.Name)]
public sealed class ClientLimitTests(LimitedBrokerFixture fixture) : IDisposable
{
    private readonly int _port = fixture.Broker.Port;
    private readonly LimitHits _hits = new();

    public void Dispose() => _hits.Dispose();

    private async Task<RawMqttClient> ConnectAsync(MqttProtocolVersion version, string name = "client", int? receiveBuffer = null)
    {
        var client = await RawMqttClient.OpenAsync(_port, receiveBuffer: receiveBuffer);
        var connAck = await client.ConnectAsync(new ConnectPacket { ProtocolVersion = version, ClientId = $"{name}-{Guid.NewGuid():N}", KeepAliveSeconds = 60 });
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        return client;
    }

    private static Task PublishManyAsync(RawMqttClient client, int count, string topic, QualityOfService qos = QualityOfService.AtMostOnce) =>
        client.SendAsync(w =>
        {
            for (var i = 1; i <= count; i++)
            {
                MqttEncoder.WritePublish(w, new PublishPacket { Topic = topic, Qos = qos, PacketId = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)i }, client.Version);
            }
        });

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_client_publishing_faster_than_the_publish_rate_is_disconnected(MqttProtocolVersion version)
    {
        await using var client = await ConnectAsync(version, "flood");
        await PublishManyAsync(client, LimitedBrokerFixture.PublishBurst + 50, $"rate/{Guid.NewGuid():N}");

        var frames = await client.ReadUntilClosedAsync();
        if (version == MqttProtocolVersion.V500)
        {
            var disconnect = MqttDecoder.DecodeDisconnect(Assert.Single(frames, f => f.Type == PacketType.Disconnect).Frame, version);
            Assert.Equal(ReasonCode.MessageRateTooHigh, disconnect.ReasonCode);
        }
        else
        {
            Assert.DoesNotContain(frames, f => f.Type == PacketType.Disconnect);
        }

        await _hits.WaitForAsync(LimitNames.PublishRate);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Fact]
    public async Task A_client_within_the_publish_burst_is_not_disconnected()
    {
        await using var client = await ConnectAsync(MqttProtocolVersion.V500, "burst");
        await PublishManyAsync(client, LimitedBrokerFixture.PublishBurst / 2, $"rate/{Guid.NewGuid():N}");
        await client.SendAsync(MqttEncoder.WritePingReq);
        Assert.Equal(PacketType.PingResp, (await client.ReadFrameAsync()).Type);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, true)]
    [InlineData(MqttProtocolVersion.V500, false)]
    [InlineData(MqttProtocolVersion.V311, true)]
    public async Task Publishing_to_a_topic_too_long_or_too_deep_disconnects_with_topic_name_invalid(MqttProtocolVersion version, bool tooLong)
    {
        var topic = tooLong ? "long/" + new string('x', LimitedBrokerFixture.MaxTopicLength) : string.Join('/', Enumerable.Repeat("level", LimitedBrokerFixture.MaxTopicLevels + 1));
        await using var client = await ConnectAsync(version, "topic");
        await client.PublishAsync(topic, [1], QualityOfService.AtLeastOnce, 1);

        var frames = await client.ReadUntilClosedAsync();
        Assert.DoesNotContain(frames, f => f.Type == PacketType.PubAck);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(ReasonCode.TopicNameInvalid, MqttDecoder.DecodeDisconnect(Assert.Single(frames).Frame, version).ReasonCode);
        }

        await _hits.WaitForAsync(tooLong ? LimitNames.TopicLength : LimitNames.TopicLevels);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task Filters_too_long_or_too_deep_are_refused_in_SUBACK_and_the_others_granted(MqttProtocolVersion version)
    {
        await using var client = await ConnectAsync(version, "filters");
        await client.SubscribeAsync(
            1,
            new TopicSubscription("long/" + new string('x', LimitedBrokerFixture.MaxTopicLength), QualityOfService.AtLeastOnce),
            new TopicSubscription("a/b/c/d/#", QualityOfService.AtLeastOnce),
            new TopicSubscription("a/b/+/d", QualityOfService.AtLeastOnce));

        var subAck = MqttDecoder.DecodeSubAck((await client.ReadFrameAsync()).Frame, version);
        var refused = version == MqttProtocolVersion.V500 ? ReasonCode.TopicFilterInvalid : ReasonCode.UnspecifiedError;
        Assert.Equal([refused, refused, ReasonCode.GrantedQoS1], subAck.ReasonCodes);
        await _hits.WaitForAsync(LimitNames.TopicLength);
        await _hits.WaitForAsync(LimitNames.TopicLevels);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_session_holds_at_most_the_subscriptions_allowed(MqttProtocolVersion version)
    {
        var quota = LimitedBrokerFixture.MaxSubscriptions;
        await using var client = await ConnectAsync(version, "subs");
        await client.SubscribeAsync(1, [.. Enumerable.Range(0, quota + 2).Select(i => new TopicSubscription($"subs/{i}", QualityOfService.AtMostOnce))]);
        var codes = MqttDecoder.DecodeSubAck((await client.ReadFrameAsync()).Frame, version).ReasonCodes;
        var overQuota = version == MqttProtocolVersion.V500 ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError;
        Assert.Equal([.. Enumerable.Repeat(ReasonCode.GrantedQoS0, quota), overQuota, overQuota], codes);
        await _hits.WaitForAsync(LimitNames.Subscriptions);

        // Replacing a subscription it holds takes no quota; unsubscribing frees it.
        await client.SubscribeAsync(2, new TopicSubscription("subs/0", QualityOfService.AtLeastOnce));
        Assert.Equal([ReasonCode.GrantedQoS1], MqttDecoder.DecodeSubAck((await client.ReadFrameAsync()).Frame, version).ReasonCodes);
        await client.SendAsync(w => MqttEncoder.WriteUnsubscribe(w, new UnsubscribePacket { PacketId = 3, Filters = ["subs/1"] }, version));
        Assert.Equal(PacketType.UnsubAck, (await client.ReadFrameAsync()).Type);
        await client.SubscribeAsync(4, new TopicSubscription("subs/new", QualityOfService.AtMostOnce));
        Assert.Equal([ReasonCode.GrantedQoS0], MqttDecoder.DecodeSubAck((await client.ReadFrameAsync()).Frame, version).ReasonCodes);
    }

    [Fact]
    public async Task A_resumed_session_keeps_counting_the_subscriptions_it_already_holds()
    {
        var clientId = "resumed-" + Guid.NewGuid().ToString("N");
        var connect = new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = clientId, CleanStart = false, SessionExpiryInterval = 60 };
        await using (var first = await RawMqttClient.OpenAsync(_port))
        {
            await first.ConnectAsync(connect);
            await first.SubscribeAsync(1, [.. Enumerable.Range(0, LimitedBrokerFixture.MaxSubscriptions).Select(i => new TopicSubscription($"resumed/{i}", QualityOfService.AtMostOnce))]);
            Assert.Equal(PacketType.SubAck, (await first.ReadFrameAsync()).Type);
            await first.SendAsync(w => MqttEncoder.WriteDisconnect(w, new DisconnectPacket(), MqttProtocolVersion.V500));
        }

        await fixture.Broker.Grains.WaitUntilOfflineAsync(clientId);
        await using var second = await RawMqttClient.OpenAsync(_port);
        Assert.True((await second.ConnectAsync(connect)).SessionPresent);
        await second.SubscribeAsync(2, new TopicSubscription("resumed/one-more", QualityOfService.AtMostOnce));
        Assert.Equal([ReasonCode.QuotaExceeded], MqttDecoder.DecodeSubAck((await second.ReadFrameAsync()).Frame, MqttProtocolVersion.V500).ReasonCodes);
    }

    [Fact]
    public async Task A_connection_that_announces_a_CONNECT_above_the_pre_connect_bound_is_closed_before_sending_it()
    {
        // A CONNECT whose Remaining Length says 200,000 bytes: below Mqtt:MaxPacketSize, above the 64 KiB a client that
        // has not identified itself may send. Only the fixed header and a few bytes of the body are sent.
        Assert.True(200_000 < LimitedBrokerFixture.MaxPacketSize);
        await using var client = await RawMqttClient.OpenAsync(_port);
        await client.SendBytesAsync([0x10, 0xC0, 0x9A, 0x0C, 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T']);

        Assert.Empty(await client.ReadUntilClosedAsync());
        await _hits.WaitForAsync(LimitNames.PacketSize);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_packet_larger_than_the_maximum_disconnects_with_packet_too_large(MqttProtocolVersion version)
    {
        await using var client = await ConnectAsync(version, "large");
        await client.PublishAsync($"large/{Guid.NewGuid():N}", new byte[LimitedBrokerFixture.MaxPacketSize], QualityOfService.AtMostOnce);

        var frames = await client.ReadUntilClosedAsync();
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(ReasonCode.PacketTooLarge, MqttDecoder.DecodeDisconnect(Assert.Single(frames).Frame, version).ReasonCode);
        }
        else
        {
            Assert.Empty(frames);
        }

        await _hits.WaitForAsync(LimitNames.PacketSize);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task A_client_with_more_QoS_2_messages_awaiting_release_than_allowed_is_disconnected(MqttProtocolVersion version)
    {
        await using var client = await ConnectAsync(version, "inflight");
        var topic = $"inflight/{Guid.NewGuid():N}";
        for (ushort i = 1; i <= LimitedBrokerFixture.ReceiveMaximum; i++)
        {
            await client.PublishAsync(topic, [1], QualityOfService.ExactlyOnce, i);
            Assert.Equal(PacketType.PubRec, (await client.ReadFrameAsync()).Type);
        }

        // No PUBREL for any of them, and one more.
        await client.PublishAsync(topic, [1], QualityOfService.ExactlyOnce, (ushort)(LimitedBrokerFixture.ReceiveMaximum + 1));
        var frames = await client.ReadUntilClosedAsync();
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(ReasonCode.ReceiveMaximumExceeded, MqttDecoder.DecodeDisconnect(Assert.Single(frames).Frame, version).ReasonCode);
        }
        else
        {
            Assert.Empty(frames);
        }

        await _hits.WaitForAsync(LimitNames.Inflight);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500)]
    [InlineData(MqttProtocolVersion.V311)]
    public async Task QoS_2_messages_sent_together_beyond_the_receive_maximum_disconnect_the_client(MqttProtocolVersion version)
    {
        await using var client = await ConnectAsync(version, "inflight-run");
        var topic = $"inflight/{Guid.NewGuid():N}";

        // One more than allowed, all in one write, without waiting for any PUBREC.
        await client.SendAsync(w =>
        {
            for (ushort i = 1; i <= LimitedBrokerFixture.ReceiveMaximum + 1; i++)
            {
                MqttEncoder.WritePublish(w, new PublishPacket
                {
                    Topic = topic,
                    Payload = new System.Buffers.ReadOnlySequence<byte>([1]),
                    Qos = QualityOfService.ExactlyOnce,
                    PacketId = i,
                }, version);
            }
        });

        var frames = await client.ReadUntilClosedAsync();
        var acknowledged = frames.Where(f => f.Type == PacketType.PubRec).Select(f => MqttDecoder.DecodeAck(f.Frame, version).PacketId).ToList();
        Assert.DoesNotContain((ushort)(LimitedBrokerFixture.ReceiveMaximum + 1), acknowledged);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(ReasonCode.ReceiveMaximumExceeded, MqttDecoder.DecodeDisconnect(frames[^1].Frame, version).ReasonCode);
            Assert.Equal(frames.Count - 1, acknowledged.Count);
        }
        else
        {
            Assert.Equal(frames.Count, acknowledged.Count);
        }

        await _hits.WaitForAsync(LimitNames.Inflight);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_disconnected_when_its_queue_passes_the_message_bound()
    {
        var topic = $"slow/{Guid.NewGuid():N}";
        await using var slow = await ConnectAsync(MqttProtocolVersion.V500, "slow", receiveBuffer: 4096);
        await slow.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await slow.ReadFrameAsync()).Type);
        await using var reader = await ConnectAsync(MqttProtocolVersion.V500, "reader");
        await reader.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await reader.ReadFrameAsync()).Type);

        // 64 KB messages: socket buffers and the pipe hold a few dozen, the queue the rest up to its bound.
        await using var publisher = await ConnectAsync(MqttProtocolVersion.V500, "publisher");
        var payload = new byte[64 * 1024];
        var sent = 0;
        while (_hits[LimitNames.OutboundMessages] == 0)
        {
            Assert.True(sent < LimitedBrokerFixture.PublishBurst - 10, $"{sent} messages sent and the slow subscriber is still connected");
            await publisher.PublishAsync(topic, payload, QualityOfService.AtLeastOnce, (ushort)(sent + 1));
            Assert.Equal(PacketType.PubAck, (await publisher.ReadFrameAsync()).Type);
            sent++;

            // The reading subscriber keeps up.
            Assert.Equal(topic, (await reader.ReadPublishAsync()).Topic);
        }

        // The slow subscriber gets what was already in its socket, then DISCONNECT 0x97: the queue was dropped.
        var frames = await slow.ReadUntilClosedAsync();
        Assert.True(frames.Count < sent, $"the slow subscriber got all {sent} messages");
        Assert.Equal(ReasonCode.QuotaExceeded, MqttDecoder.DecodeDisconnect(frames[^1].Frame, MqttProtocolVersion.V500).ReasonCode);
        await BrokerChecks.AssertServesOthersAsync(_port);
    }
}
