using System.Buffers;
using System.Text;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Reads the MQTT data types (5.0 section 1.5) from a packet body. Running out of bytes inside a field is a Malformed
/// Packet: the Remaining Length promised the field would be there.
/// </summary>
internal static class SequenceReaderExtensions
{
    private const int StackCopyLimit = 256;

    public static byte ReadByteValue(this ref SequenceReader<byte> reader) =>
        reader.TryRead(out byte value) ? value : throw MqttErrors.Truncated();

    /// <summary>Two Byte Integer, big-endian (1.5.2).</summary>
    public static ushort ReadUInt16Value(this ref SequenceReader<byte> reader) =>
        reader.TryReadBigEndian(out short value) ? (ushort)value : throw MqttErrors.Truncated();

    /// <summary>Four Byte Integer, big-endian (1.5.3).</summary>
    public static uint ReadUInt32Value(this ref SequenceReader<byte> reader) =>
        reader.TryReadBigEndian(out int value) ? (uint)value : throw MqttErrors.Truncated();

    /// <summary>Variable Byte Integer (1.5.5).</summary>
    public static int ReadVariableByteInteger(this ref SequenceReader<byte> reader) =>
        VariableByteInteger.TryRead(ref reader, out int value) ? value : throw MqttErrors.Truncated();

    /// <summary>UTF-8 Encoded String (1.5.4): a two-byte length, then that many bytes of well-formed UTF-8.</summary>
    public static string ReadMqttString(this ref SequenceReader<byte> reader)
    {
        int length = reader.ReadUInt16Value();
        if (length == 0)
        {
            return string.Empty;
        }

        if (reader.Remaining < length)
        {
            throw MqttErrors.Truncated();
        }

        ReadOnlySpan<byte> unread = reader.UnreadSpan;
        if (unread.Length >= length)
        {
            string contiguous = Decode(unread[..length]);
            reader.Advance(length);
            return contiguous;
        }

        // The string straddles segments: gather it first. Strings are at most 65,535 bytes.
        byte[]? rented = null;
        Span<byte> buffer = length <= StackCopyLimit ? stackalloc byte[StackCopyLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            buffer = buffer[..length];
            reader.TryCopyTo(buffer);
            reader.Advance(length);
            return Decode(buffer);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Binary Data (1.5.6): a two-byte length, then that many bytes.</summary>
    public static byte[] ReadBinary(this ref SequenceReader<byte> reader)
    {
        int length = reader.ReadUInt16Value();
        if (length == 0)
        {
            return [];
        }

        if (reader.Remaining < length)
        {
            throw MqttErrors.Truncated();
        }

        byte[] data = new byte[length];
        reader.TryCopyTo(data);
        reader.Advance(length);
        return data;
    }

    /// <summary>Throws MalformedPacket when bytes are left over after the last field of <paramref name="packet"/>.</summary>
    public static void EnsureEnd(this ref SequenceReader<byte> reader, string packet)
    {
        if (!reader.End)
        {
            throw MqttErrors.TrailingBytes(packet);
        }
    }

    private static string Decode(ReadOnlySpan<byte> utf8)
    {
        Utf8Rules.ThrowIfInvalid(utf8);
        return Encoding.UTF8.GetString(utf8);
    }
}
