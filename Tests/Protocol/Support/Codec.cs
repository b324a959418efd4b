using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>PINGREQ or PINGRESP, which have no packet class of their own.</summary>
internal sealed record PingPacket(PacketType Type);

/// <summary>Encodes and decodes any packet of the model, dispatching on its type.</summary>
internal static class Codec
{
    public static void Write(IBufferWriter<byte> output, object packet, MqttProtocolVersion version)
    {
        switch (packet)
        {
            case ConnectPacket p: MqttEncoder.WriteConnect(output, p); break;
            case ConnAckPacket p: MqttEncoder.WriteConnAck(output, p, version); break;
            case PublishPacket p: MqttEncoder.WritePublish(output, p, version); break;
            case PacketIdAck p: MqttEncoder.WriteAck(output, p, version); break;
            case SubscribePacket p: MqttEncoder.WriteSubscribe(output, p, version); break;
            case SubAckPacket p: MqttEncoder.WriteSubAck(output, p, version); break;
            case UnsubscribePacket p: MqttEncoder.WriteUnsubscribe(output, p, version); break;
            case UnsubAckPacket p: MqttEncoder.WriteUnsubAck(output, p, version); break;
            case PingPacket { Type: PacketType.PingReq }: MqttEncoder.WritePingReq(output); break;
            case PingPacket { Type: PacketType.PingResp }: MqttEncoder.WritePingResp(output); break;
            case DisconnectPacket p: MqttEncoder.WriteDisconnect(output, p, version); break;
            case AuthPacket p: MqttEncoder.WriteAuth(output, p); break;
            default: throw new ArgumentException($"No encoder for {packet.GetType().Name}.", nameof(packet));
        }
    }

    public static byte[] Encode(object packet, MqttProtocolVersion version)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(output, packet, version);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Decodes one frame; <paramref name="publishFromServer"/> selects the client side's PUBLISH rules.</summary>
    public static object Decode(in MqttFrame frame, MqttProtocolVersion version, bool publishFromServer = false)
    {
        switch (frame.Type)
        {
            case PacketType.Connect: return MqttDecoder.DecodeConnect(frame);
            case PacketType.ConnAck: return MqttDecoder.DecodeConnAck(frame, version);
            case PacketType.Publish: return MqttDecoder.DecodePublish(frame, version, publishFromServer);
            case PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp: return MqttDecoder.DecodeAck(frame, version);
            case PacketType.Subscribe: return MqttDecoder.DecodeSubscribe(frame, version);
            case PacketType.SubAck: return MqttDecoder.DecodeSubAck(frame, version);
            case PacketType.Unsubscribe: return MqttDecoder.DecodeUnsubscribe(frame, version);
            case PacketType.UnsubAck: return MqttDecoder.DecodeUnsubAck(frame, version);
            case PacketType.PingReq or PacketType.PingResp:
                MqttDecoder.ValidatePing(frame);
                return new PingPacket(frame.Type);
            case PacketType.Disconnect: return MqttDecoder.DecodeDisconnect(frame, version);
            case PacketType.Auth: return MqttDecoder.DecodeAuth(frame, version);
            default: throw new ArgumentException($"Unexpected frame type {frame.Type}.", nameof(frame));
        }
    }

    /// <summary>Frames and decodes every packet in <paramref name="input"/>, which must end on a packet boundary.</summary>
    public static List<object> DecodeAll(ReadOnlySequence<byte> input, MqttProtocolVersion version, bool publishFromServer = false)
    {
        var packets = new List<object>();
        while (!input.IsEmpty)
        {
            Assert.True(MqttFrameReader.TryRead(input, int.MaxValue, out MqttFrame frame, out SequencePosition consumed), "a whole packet was expected");
            object packet = Decode(frame, version, publishFromServer);

            // Copy payloads out: the decoded PUBLISH points into the input.
            packets.Add(packet is PublishPacket publish ? publish with { Payload = new ReadOnlySequence<byte>(publish.Payload.ToArray()) } : packet);
            input = input.Slice(consumed);
        }

        return packets;
    }
}
