using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Variable Byte Integer (5.0 section 1.5.5; 3.1.1 section 2.2.3 for the Remaining Length): seven bits per byte,
/// least significant group first, high bit = "more bytes follow", at most four bytes.
/// </summary>
internal static class VariableByteInteger
{
    /// <summary>The largest value four bytes can carry.</summary>
    public const int MaxValue = 268_435_455;

    public const int MaxSize = 4;

    public static int Size(int value) => value switch
    {
        < 0 or > MaxValue => throw new ArgumentOutOfRangeException(nameof(value), value, "A Variable Byte Integer holds 0 to 268,435,455."),
        < 128 => 1,
        < 16_384 => 2,
        < 2_097_152 => 3,
        _ => 4,
    };

    /// <summary>Writes the minimal encoding ([MQTT-1.5.5-1]) and returns the number of bytes written.</summary>
    public static int Write(Span<byte> destination, int value)
    {
        int size = Size(value);
        for (int i = 0; i < size; i++)
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            destination[i] = value > 0 ? (byte)(b | 0x80) : b;
        }

        return size;
    }

    /// <summary>
    /// Reads one value. Returns false when the input ends before the last byte. Throws MalformedPacket when a fourth byte
    /// still has its continuation bit set: "The maximum number of bytes in the Variable Byte Integer field is four" (1.5.5).
    /// Non-minimal encodings (for example 0x80 0x00 for zero) are accepted: [MQTT-1.5.5-1] binds the sender, and 3.1.1
    /// has no such rule at all, so a tolerant receiver stays interoperable with both.
    /// </summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out int value)
    {
        value = 0;
        for (int i = 0; i < MaxSize; i++)
        {
            if (!reader.TryRead(out byte b))
            {
                return false;
            }

            value |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        throw MqttErrors.Malformed("A Variable Byte Integer is longer than four bytes (1.5.5, 2.2.3).");
    }
}
