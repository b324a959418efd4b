using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Splits a byte stream into control packets (2.1 Structure of an MQTT Control Packet). Checks everything the fixed
/// header alone can tell, so a bad or oversized packet is refused before its body is buffered.
/// </summary>
public static class MqttFrameReader
{
    /// <summary>
    /// Reads one whole control packet from the start of <paramref name="input"/>. Returns false when the input holds no
    /// complete packet yet; <paramref name="frame"/> and <paramref name="consumed"/> are then meaningless.
    /// Allocates nothing (except the exception when it throws).
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// MalformedPacket for packet type 0, reserved flag bits not as the spec fixes them, PUBLISH with QoS 3 or with
    /// DUP on QoS 0, or a Remaining Length longer than four bytes. PacketTooLarge as soon as the Remaining Length shows the
    /// whole packet exceeds <paramref name="maximumPacketSize"/>, even if none of the body has arrived.
    /// </exception>
    public static bool TryRead(in ReadOnlySequence<byte> input, int maximumPacketSize, out MqttFrame frame, out SequencePosition consumed)
    {
        frame = default;
        consumed = default;

        var reader = new SequenceReader<byte>(input);
        if (!reader.TryRead(out byte first))
        {
            return false;
        }

        var type = (PacketType)(first >> 4);
        byte flags = (byte)(first & 0x0F);
        ValidateFixedHeader(type, flags);

        if (!VariableByteInteger.TryRead(ref reader, out int remainingLength))
        {
            return false;
        }

        // Maximum Packet Size counts "the total number of bytes in an MQTT Control Packet" (3.1.2.11.4, 3.2.2.3.6):
        // fixed header included.
        long total = reader.Consumed + remainingLength;
        if (total > maximumPacketSize)
        {
            throw new MqttProtocolException(
                ReasonCode.PacketTooLarge,
                $"A {type} packet of {total} bytes exceeds the maximum packet size of {maximumPacketSize} bytes.");
        }

        if (reader.Remaining < remainingLength)
        {
            return false;
        }

        ReadOnlySequence<byte> body = input.Slice(reader.Position, remainingLength);
        frame = new MqttFrame(type, flags, body);
        consumed = body.End;
        return true;
    }

    /// <summary>The fixed-header flag rules of 2.1.3 (3.1.1: 2.2.2) and 3.3.1.</summary>
    private static void ValidateFixedHeader(PacketType type, byte flags)
    {
        switch (type)
        {
            case 0:
                // Type 0 is "Reserved" (2.1.2); it is not a packet either version defines.
                throw MqttErrors.Malformed("Control packet type 0 is reserved (2.1.2).");

            case PacketType.Publish:
                int qos = (flags >> 1) & 0b11;
                if (qos == 3)
                {
                    throw MqttErrors.Malformed("PUBLISH must not have both QoS bits set [MQTT-3.3.1-4].");
                }

                if (qos == 0 && (flags & 0b1000) != 0)
                {
                    throw MqttErrors.Malformed("The DUP flag must be 0 for all QoS 0 messages [MQTT-3.3.1-2].");
                }

                break;

            case PacketType.PubRel or PacketType.Subscribe or PacketType.Unsubscribe:
                // [MQTT-3.6.1-1], [MQTT-3.8.1-1], [MQTT-3.10.1-1]: bits 3..0 are 0,0,1,0.
                if (flags != 0b0010)
                {
                    throw MqttErrors.Malformed($"The fixed header flags of {type} must be 0010 [MQTT-2.1.3-1].");
                }

                break;

            default:
                // Every other type has its four flag bits reserved as 0000 (table 2-2); "If invalid flags are received
                // it is a Malformed Packet" [MQTT-2.1.3-1] (3.1.1: [MQTT-2.2.2-1], [MQTT-2.2.2-2]).
                if (flags != 0)
                {
                    throw MqttErrors.Malformed($"The fixed header flags of {type} must be 0000 [MQTT-2.1.3-1].");
                }

                break;
        }
    }
}
