using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Walks a v5 property list (2.2.2): a Variable Byte Integer length, then identifier/value pairs. Each decoder switches
/// on the identifiers valid for its packet; this type holds the rules they share.
/// </summary>
internal struct PropertyReader
{
    private readonly long _end;
    private readonly string _packet;
    private ulong _seen;

    /// <summary>Reads the Property Length and positions on the first property.</summary>
    public PropertyReader(ref SequenceReader<byte> reader, string packet)
    {
        int length = reader.ReadVariableByteInteger();
        if (length > reader.Remaining)
        {
            throw MqttErrors.Malformed($"The Property Length of {packet} runs past the end of the packet (2.2.2.1).");
        }

        _end = reader.Consumed + length;
        _packet = packet;
    }

    /// <summary>True when the list had no properties at all.</summary>
    public readonly bool IsEmpty(in SequenceReader<byte> reader) => reader.Consumed == _end;

    /// <summary>Reads the next identifier, or returns false at the end of the list.</summary>
    public readonly bool TryReadId(ref SequenceReader<byte> reader, out int id)
    {
        if (reader.Consumed >= _end)
        {
            // A value that ran past the declared length means the length or the value is wrong.
            if (reader.Consumed > _end)
            {
                throw MqttErrors.Malformed($"A property of {_packet} runs past the Property Length (2.2.2.1).");
            }

            id = 0;
            return false;
        }

        // "Although the Property Identifier is defined as a Variable Byte Integer, in this version of the specification
        // all of the Property Identifiers are one byte long" (2.2.2.2); read it as one so a long form is simply unknown.
        id = reader.ReadVariableByteInteger();
        return true;
    }

    /// <summary>
    /// Records <paramref name="id"/> and throws ProtocolError on its second appearance: every property but User Property
    /// (and Subscription Identifier in a server's PUBLISH) is "a Protocol Error to include ... more than once".
    /// </summary>
    public void Once(int id)
    {
        ulong bit = 1UL << id;
        if ((_seen & bit) != 0)
        {
            throw MqttErrors.ProtocolError($"Property 0x{id:X2} appears more than once in {_packet}.");
        }

        _seen |= bit;
    }

    /// <summary>
    /// For the default branch of a decoder's switch: "A Control Packet which contains an Identifier which is not valid
    /// for its packet type, or contains a value not of the specified data type, is a Malformed Packet" (2.2.2.2).
    /// </summary>
    public readonly MqttProtocolException NotValidHere(int id) =>
        MqttErrors.Malformed($"Property identifier 0x{id:X2} is not valid in {_packet} (2.2.2.2).");

    /// <summary>A Byte property limited to 0 or 1; any other value is a Protocol Error (e.g. 3.1.2.11.6/7, 3.2.2.3.5).</summary>
    public readonly bool ReadFlag(ref SequenceReader<byte> reader, string name)
    {
        byte value = reader.ReadByteValue();
        return value switch
        {
            0 => false,
            1 => true,
            _ => throw MqttErrors.ProtocolError($"{name} in {_packet} is {value}; only 0 and 1 are allowed."),
        };
    }

    /// <summary>A Two Byte Integer property for which 0 is a Protocol Error (Receive Maximum, 3.1.2.11.3 / 3.2.2.3.3).</summary>
    public readonly ushort ReadNonZeroUInt16(ref SequenceReader<byte> reader, string name)
    {
        ushort value = reader.ReadUInt16Value();
        return value != 0 ? value : throw MqttErrors.ProtocolError($"{name} in {_packet} is 0, which is a Protocol Error.");
    }

    /// <summary>A Four Byte Integer property for which 0 is a Protocol Error (Maximum Packet Size, 3.1.2.11.4 / 3.2.2.3.6).</summary>
    public readonly uint ReadNonZeroUInt32(ref SequenceReader<byte> reader, string name)
    {
        uint value = reader.ReadUInt32Value();
        return value != 0 ? value : throw MqttErrors.ProtocolError($"{name} in {_packet} is 0, which is a Protocol Error.");
    }

    public static UserProperty ReadUserProperty(ref SequenceReader<byte> reader)
    {
        // UTF-8 String Pair (1.5.7): name then value.
        string name = reader.ReadMqttString();
        return new UserProperty(name, reader.ReadMqttString());
    }
}
