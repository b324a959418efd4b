using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    private ushort _clientTopicAliasMaximum;
    private Dictionary<string, ushort>? _outboundAliases;

    /// <summary>
    /// The only writer after CONNACK, running while there is something to write: takes everything queued, writes it
    /// into the pipe and flushes once, so that under load many packets go out in one write.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var output = _context.Transport.Output;
        Queue<Outbound>? drained = null;
        try
        {
            while ((drained = TakeQueued(drained)) is { } batch)
            {
                long bytes = 0;
                int deliveries = 0;
                while (batch.TryDequeue(out var item))
                {
                    if (item.Kind == OutboundKind.Delivery)
                    {
                        deliveries++;
                        bytes += OutboundSize(item.Delivery!);
                    }

                    Write(output, item);
                }

                Interlocked.Add(ref _outboundCount, -deliveries);
                Interlocked.Add(ref _outboundBytes, -bytes);
                CountFlushed(output);
                var flushed = await output.FlushAsync();
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    WriterFailed();
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            Logger.LogDebug(ex, "Writing to connection {ConnectionId} failed", Id);
            WriterFailed();
        }
        catch (Exception ex)
        {
            Logger.LogError(ex, "Writer of connection {ConnectionId} ({ClientId}) failed", Id, ClientId);
            WriterFailed();
        }
    }

    private void Write(IBufferWriter<byte> output, in Outbound item)
    {
        if (_services.Endpoint.Traces.Any)
        {
            TraceOutbound(item);
        }

        switch (item.Kind)
        {
            case OutboundKind.Delivery:
                WriteDelivery(output, item.Delivery!);
                break;
            case OutboundKind.Ack:
                MqttEncoder.WriteAck(output, item.Ack, Version);
                break;
            case OutboundKind.PingResp:
                MqttEncoder.WritePingResp(output);
                break;
            case OutboundKind.Disconnect:
                MqttEncoder.WriteDisconnect(output, (DisconnectPacket)item.Packet!, Version);
                break;
            case OutboundKind.Packet:
                switch (item.Packet)
                {
                    case SubAckPacket subAck:
                        MqttEncoder.WriteSubAck(output, subAck, Version);
                        break;
                    case UnsubAckPacket unsubAck:
                        MqttEncoder.WriteUnsubAck(output, unsubAck, Version);
                        break;
                    case AuthPacket auth:
                        MqttEncoder.WriteAuth(output, auth);
                        break;
                }

                break;
        }
    }

    private void WriteDelivery(IBufferWriter<byte> output, Grains.Delivery delivery)
    {
        if (delivery.IsRelease)
        {
            MqttEncoder.WriteAck(output, new PacketIdAck(PacketType.PubRel, delivery.PacketId), Version);
            return;
        }

        var now = DateTime.UtcNow;
        if (!delivery.Dup && delivery.Message.IsExpired(now))
        {
            // Past its Message Expiry Interval before delivery started: not delivered (3.3.2.3.3), and not left
            // holding the in-flight window. A resend (DUP) of a delivery already started goes on.
            Grains.BrokerMetrics.MessageDropped(Grains.DropReason.Expired);
            if (delivery.Qos > 0)
            {
                AddDroppedAck(delivery);
            }

            return;
        }

        var (alias, aliasKnown) = OutboundAlias(delivery.Message.Topic);
        var packet = MessageMapping.ToPacket(delivery, Version, now, alias, aliasKnown);
        if (_clientMaximumPacketSize is { } max && MqttEncoder.GetPublishSize(packet, Version) > max)
        {
            // Never send a client more than it allows; the message is dropped for this client [MQTT-3.1.2-25].
            Logger.LogInformation("Dropped a {Size}-byte message on {Topic} for {ClientId}: over its Maximum Packet Size", MqttEncoder.GetPublishSize(packet, Version), packet.Topic, ClientId);
            Grains.BrokerMetrics.MessageDropped(Grains.DropReason.PacketTooLarge);
            if (delivery.Qos > 0)
            {
                // Counted as acknowledged, so it does not hold the in-flight window for ever.
                AddDroppedAck(delivery);
            }

            return;
        }

        MqttEncoder.WritePublish(output, packet, Version);
        CountSent(delivery, now);
    }

    /// <summary>
    /// Aliases for the first topics sent to a v5 client, up to the Topic Alias Maximum it announced: the topic goes
    /// once with its alias, then the alias alone. Only the writer calls this, so it needs no lock.
    /// </summary>
    private (ushort Alias, bool Known) OutboundAlias(string topic)
    {
        if (_clientTopicAliasMaximum == 0)
        {
            return (0, false);
        }

        _outboundAliases ??= new Dictionary<string, ushort>(StringComparer.Ordinal);
        if (_outboundAliases.TryGetValue(topic, out var alias))
        {
            return (alias, true);
        }

        if (_outboundAliases.Count < _clientTopicAliasMaximum)
        {
            alias = (ushort)(_outboundAliases.Count + 1);
            _outboundAliases[topic] = alias;
            return (alias, false);
        }

        return (0, false);
    }

    private void AddDroppedAck(Grains.Delivery delivery)
    {
        var acks = delivery.Qos == 1
            ? new[] { new Grains.ClientAck((byte)PacketType.PubAck, delivery.PacketId) }
            : [new Grains.ClientAck((byte)PacketType.PubRec, delivery.PacketId, (byte)ReasonCode.PacketTooLarge)];
        _ = _session!.Acknowledge(Id, acks);
    }
}
