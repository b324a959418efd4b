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
        if (packet.TopicAliasPresent())
        {
            // We announce Topic Alias Maximum 0, so any alias is out of range [MQTT-3.3.2-9].
            throw new MqttProtocolException(ReasonCode.TopicAliasInvalid, "topic alias not allowed");
        }

        var message = MessageMapping.ToMessage(packet, packet.Topic, ClientId!);
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
        if (!_awaitingRelease.Contains(packetId) && _awaitingRelease.Count >= _options.ReceiveMaximum)
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

internal static class PublishPacketExtensions
{
    public static bool TopicAliasPresent(this in PublishPacket packet) => packet.Properties?.TopicAlias is not null;
}
