using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// Reads the parts of an incoming PUBLISH body the benchmark needs, in place. <see cref="MqttDecoder.DecodePublish(in MqttFrame, MqttProtocolVersion)"/>
/// would allocate the topic string per message and validate what the broker under test is responsible for; the
/// client only needs the packet id and the payload, so it skips the topic (3.3.2.1) and the v5 properties (3.3.2.3).
/// </summary>
public static class PublishReader
{
    /// <summary>Returns the packet id (0 at QoS 0) and the payload slice of a PUBLISH body.</summary>
    public static ushort Read(in ReadOnlySequence<byte> body, QualityOfService qos, MqttProtocolVersion version, out ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(body);
        reader.TryReadBigEndian(out short topicLength);
        reader.Advance((ushort)topicLength);
        ushort packetId = 0;
        if (qos != QualityOfService.AtMostOnce)
        {
            reader.TryReadBigEndian(out short id);
            packetId = (ushort)id;
        }

        if (version == MqttProtocolVersion.V500)
        {
            reader.Advance(ReadVariableByteInteger(ref reader));
        }

        payload = body.Slice(reader.Position);
        return packetId;
    }

    /// <summary>The packet id that starts an ack's body (3.4.2).</summary>
    public static ushort ReadPacketId(in ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        reader.TryReadBigEndian(out short id);
        return (ushort)id;
    }

    private static int ReadVariableByteInteger(ref SequenceReader<byte> reader)
    {
        int value = 0;
        for (int shift = 0; shift < 28; shift += 7)
        {
            reader.TryRead(out byte b);
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        return value;
    }
}
