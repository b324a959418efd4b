using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttDecoder
{
    /// <summary>
    /// Decodes PUBACK, PUBREC, PUBREL or PUBCOMP (3.4 to 3.7); the type is taken from the frame.
    /// v3: the body is exactly the Packet Identifier. v5: Remaining Length 2 means Success with no properties,
    /// 3 a reason code without properties, 4 or more a reason code and a property list (3.4.2.1, 3.4.2.2).
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// ProtocolError for Packet Identifier 0 or a reason code not in the packet type's table;
    /// MalformedPacket for a wrong length or a property other than Reason String and User Property.
    /// </exception>
    public static PacketIdAck DecodeAck(in MqttFrame frame, MqttProtocolVersion version)
    {
        if (frame.Type is not (PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp))
        {
            throw new ArgumentException($"Expected PUBACK, PUBREC, PUBREL or PUBCOMP, got {frame.Type}.", nameof(frame));
        }

        string name = PacketNames.Of(frame.Type);
        var reader = new SequenceReader<byte>(frame.Body);
        ushort packetId = ReadPacketId(ref reader, name);
        if (!IsV5(version) || reader.End)
        {
            reader.EnsureEnd(name);
            return new PacketIdAck(frame.Type, packetId);
        }

        byte code = reader.ReadByteValue();
        bool allowed = frame.Type is PacketType.PubAck or PacketType.PubRec
            ? ReasonCodes.IsValidForPubAckOrPubRec(code)
            : ReasonCodes.IsValidForPubRelOrPubComp(code);
        if (!allowed)
        {
            throw MqttErrors.ProtocolError($"Reason code 0x{code:X2} is not valid in {name} (3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1).");
        }

        string? reasonString = null;
        List<UserProperty>? userProperties = null;
        if (!reader.End)
        {
            // "If the Remaining Length is less than 4 there is no Property Length and the value of 0 is used" (3.4.2.2).
            ReadReasonProperties(ref reader, name, out reasonString, out userProperties);
        }

        reader.EnsureEnd(name);
        return new PacketIdAck(frame.Type, packetId, (ReasonCode)code, reasonString, userProperties);
    }
}
