using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Decodes the body of a framed packet (<see cref="MqttFrameReader"/>) into the packet model. Every violation of
/// MQTT 3.1, 3.1.1 or 5.0 found while parsing throws <see cref="MqttProtocolException"/>; its reason code follows
/// 5.0 section 1.2: MalformedPacket when the bytes cannot be parsed, ProtocolError when they parse into something the
/// protocol does not allow (unless the spec names a more specific code). Nothing else is thrown for any input,
/// except <see cref="ArgumentException"/> when a frame of the wrong packet type is passed in (a caller bug).
/// </summary>
public static partial class MqttDecoder
{
    private static void RequireType(in MqttFrame frame, PacketType expected)
    {
        if (frame.Type != expected)
        {
            throw new ArgumentException($"Expected a {expected} frame, got {frame.Type}.", nameof(frame));
        }
    }

    private static void RequireType(in MqttFrame frame, PacketType first, PacketType second)
    {
        if (frame.Type != first && frame.Type != second)
        {
            throw new ArgumentException($"Expected a {first} or {second} frame, got {frame.Type}.", nameof(frame));
        }
    }

    /// <summary>A Packet Identifier that must be non-zero ([MQTT-2.2.1-3]; 3.1.1: [MQTT-2.3.1-1]).</summary>
    private static ushort ReadPacketId(ref SequenceReader<byte> reader, string packet)
    {
        ushort id = reader.ReadUInt16Value();
        return id != 0 ? id : throw MqttErrors.ZeroPacketId(packet);
    }

    private static bool IsV5(MqttProtocolVersion version) => version == MqttProtocolVersion.V500;

    /// <summary>Reads a v5 property list that may hold only Reason String and User Property (acks, SUBACK, UNSUBACK).</summary>
    private static void ReadReasonProperties(
        ref SequenceReader<byte> reader, string packet, out string? reasonString, out List<UserProperty>? userProperties)
    {
        reasonString = null;
        userProperties = null;
        var properties = new PropertyReader(ref reader, packet);
        while (properties.TryReadId(ref reader, out int id))
        {
            switch (id)
            {
                case PropertyId.ReasonString:
                    properties.Once(id);
                    reasonString = reader.ReadMqttString();
                    break;
                case PropertyId.UserProperty:
                    (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                    break;
                default:
                    throw properties.NotValidHere(id);
            }
        }
    }
}
