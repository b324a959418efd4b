using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    // PUBLISH packets (QoS 0 and 1) read in one go, in order; routed together when the read is done.
    private readonly List<MqttMessage> _batch = [];

    // Client acknowledgements (PUBACK, PUBREC, PUBCOMP) read in one go.
    private readonly List<ClientAck> _acks = [];

    // Inbound QoS 2 packet ids with PUBREC sent and PUBREL not yet received, counted against our Receive Maximum.
    private readonly HashSet<ushort> _awaitingRelease = [];

    private ValueTask HandlePublishAsync(PublishPacket packet)
    {
        var topic = ResolveTopicAlias(packet);
        if (Version == MqttProtocolVersion.V500 && packet.Qos != QualityOfService.AtMostOnce
            && _pendingPubAcks.Count + _awaitingRelease.Count >= _options.ReceiveMaximum && !_awaitingRelease.Contains(packet.PacketId))
        {
            // More unacknowledged QoS 1/2 messages than the Receive Maximum we announced [MQTT-3.3.4-8].
            throw new MqttProtocolException(ReasonCode.ReceiveMaximumExceeded, "more QoS 1 and 2 messages in flight than Receive Maximum");
        }

        if (packet.Properties?.PayloadFormatIndicator == 1 && !IsUtf8(packet))
        {
            // The payload says it is UTF-8 and is not (3.3.2.3.2): refused, and nobody else receives it.
            return new ValueTask(RefuseInvalidPayloadAsync(packet.Qos, packet.PacketId, topic));
        }

        var message = MessageMapping.ToMessage(packet, topic, ClientId!);
        if (packet.Qos == QualityOfService.ExactlyOnce)
        {
            return new ValueTask(PublishExactlyOnceAsync(packet.PacketId, message));
        }

        _batch.Add(message);
        if (packet.Qos == QualityOfService.AtLeastOnce)
        {
            _pendingPubAcks.Add((packet.PacketId, _batch.Count - 1));
        }

        return ValueTask.CompletedTask;
    }

    private readonly List<(ushort PacketId, int Index)> _pendingPubAcks = [];

    // Topic aliases this client set, by alias (index 0 unused).
    private string?[]? _inboundAliases;

    /// <summary>v5 topic aliases from the client [MQTT-3.3.2-8 to 3.3.2-12].</summary>
    private string ResolveTopicAlias(in PublishPacket packet)
    {
        if (packet.Properties?.TopicAlias is not { } alias)
        {
            return packet.Topic;
        }

        if (alias > _options.TopicAliasMaximum)
        {
            throw new MqttProtocolException(ReasonCode.TopicAliasInvalid, $"topic alias {alias} is above the maximum {_options.TopicAliasMaximum}");
        }

        _inboundAliases ??= new string?[_options.TopicAliasMaximum + 1];
        if (packet.Topic.Length > 0)
        {
            _inboundAliases[alias] = packet.Topic;
            return packet.Topic;
        }

        return _inboundAliases[alias] ?? throw new MqttProtocolException(ReasonCode.ProtocolError, $"topic alias {alias} was never set");
    }

    private static bool IsUtf8(in PublishPacket packet)
    {
        var payload = packet.Payload;
        if (payload.IsSingleSegment)
        {
            return System.Text.Unicode.Utf8.IsValid(payload.FirstSpan);
        }

        return System.Text.Unicode.Utf8.IsValid(System.Buffers.BuffersExtensions.ToArray(payload));
    }

    private async Task RefuseInvalidPayloadAsync(QualityOfService qos, ushort packetId, string topic)
    {
        _logger.LogInformation("Refused a message from {ClientId} on {Topic}: Payload Format Indicator says UTF-8 and it is not", ClientId, topic);
        if (qos == QualityOfService.AtMostOnce)
        {
            throw new MqttProtocolException(ReasonCode.PayloadFormatInvalid, "payload is not UTF-8 although its Payload Format Indicator says so");
        }

        // Acknowledgements keep the order of the PUBLISH packets: what came before is answered first.
        await FlushBatchAsync();
        var type = qos == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec;
        Enqueue(Outbound.ForAck(new PacketIdAck(type, packetId, ReasonCode.PayloadFormatInvalid)));
    }

    /// <summary>
    /// Routes the batch: one call per topic grain, in order per topic, then PUBACKs in the order the PUBLISH
    /// packets came [MQTT-4.6.0-2]. A message the grains did not take is not acknowledged: the connection closes
    /// so that the client resends it.
    /// </summary>
    private async Task FlushBatchAsync()
    {
        if (_batch.Count > 0)
        {
            int[] matched;
            try
            {
                matched = await RouteBatchAsync();
            }
            catch (Exception ex) when (ex is not MqttProtocolException)
            {
                _logger.LogWarning(ex, "Could not route {Count} messages from {ClientId}", _batch.Count, ClientId);
                _batch.Clear();
                _pendingPubAcks.Clear();
                Close(ReasonCode.ServerUnavailable, "messages could not be routed");
                return;
            }

            foreach (var (packetId, index) in _pendingPubAcks)
            {
                var reason = matched[index] == 0 && Version == MqttProtocolVersion.V500 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
                Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubAck, packetId, reason)));
            }

            _batch.Clear();
            _pendingPubAcks.Clear();
        }

        if (_acks.Count > 0)
        {
            await FlushAcksAsync();
        }
    }

    /// <summary>Returns, per message of the batch, how many subscriptions matched it.</summary>
    private async Task<int[]> RouteBatchAsync()
    {
        var matched = new int[_batch.Count];
        var topic = _batch[0].Topic;
        if (_batch.TrueForAll(m => m.Topic == topic))
        {
            Array.Fill(matched, await _grains.GetGrain<ITopicGrain>(topic).Publish([.. _batch]));
            return matched;
        }

        var byTopic = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < _batch.Count; i++)
        {
            if (!byTopic.TryGetValue(_batch[i].Topic, out var indexes))
            {
                byTopic[_batch[i].Topic] = indexes = [];
            }

            indexes.Add(i);
        }

        await Task.WhenAll(byTopic.Select(async pair =>
        {
            var count = await _grains.GetGrain<ITopicGrain>(pair.Key).Publish([.. pair.Value.Select(i => _batch[i])]);
            foreach (var i in pair.Value)
            {
                matched[i] = count;
            }
        }));
        return matched;
    }

    private async Task PublishExactlyOnceAsync(ushort packetId, MqttMessage message)
    {
        await FlushBatchAsync();
        if (Version == MqttProtocolVersion.V500 && !_awaitingRelease.Contains(packetId) && _awaitingRelease.Count >= _options.ReceiveMaximum)
        {
            throw new MqttProtocolException(ReasonCode.ReceiveMaximumExceeded, "more QoS 2 messages in flight than Receive Maximum");
        }

        byte reason;
        try
        {
            reason = await _session!.PublishExactlyOnce(Id, packetId, message);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not route a QoS 2 message from {ClientId}", ClientId);
            Close(ReasonCode.ServerUnavailable, "message could not be routed");
            return;
        }

        _awaitingRelease.Add(packetId);
        Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubRec, packetId, Version == MqttProtocolVersion.V500 ? (ReasonCode)reason : ReasonCode.Success)));
    }

    private async Task HandlePubRelAsync(PacketIdAck release)
    {
        await FlushBatchAsync();
        _awaitingRelease.Remove(release.PacketId);
        var reason = await _session!.Release(Id, release.PacketId);
        Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubComp, release.PacketId, Version == MqttProtocolVersion.V500 ? (ReasonCode)reason : ReasonCode.Success)));
    }

    private void AddClientAck(PacketIdAck ack) => _acks.Add(new ClientAck((byte)ack.Type, ack.PacketId, (byte)ack.ReasonCode));

    private async Task FlushAcksAsync()
    {
        var acks = _acks.ToArray();
        _acks.Clear();
        var next = await _session!.Acknowledge(Id, acks);
        foreach (var ack in acks)
        {
            // PUBREC is answered with PUBREL, unless it reported a failure (4.3.3).
            if (ack.PacketType == (byte)PacketType.PubRec && ack.ReasonCode < 0x80)
            {
                Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubRel, ack.PacketId)));
            }
        }

        foreach (var delivery in next)
        {
            Send(delivery);
        }
    }
}
