namespace OrleansMqtt.Protocol;

/// <summary>Encoded sizes of fields, for computing the Remaining Length before writing.</summary>
internal static class WireSize
{
    /// <summary>A UTF-8 Encoded String field: two length bytes and the content (1.5.4).</summary>
    public static int String(string value) => 2 + Utf8Rules.GetEncodedLength(value);

    /// <summary>A Binary Data field: two length bytes and the content (1.5.6).</summary>
    public static int Binary(int length) => 2 + CheckBinaryLength(length);

    /// <summary>A Property Length and the properties it covers (2.2.2.1).</summary>
    public static int Properties(int propertiesLength) => VariableByteInteger.Size(propertiesLength) + propertiesLength;

    /// <summary>A whole packet: the first byte, the Remaining Length field and the remaining bytes (2.1.4 / 2.2.3).</summary>
    public static int Packet(int remainingLength)
    {
        if (remainingLength > VariableByteInteger.MaxValue)
        {
            throw new ArgumentException($"A packet's Remaining Length is at most {VariableByteInteger.MaxValue} bytes; this one needs {remainingLength}.");
        }

        return 1 + VariableByteInteger.Size(remainingLength) + remainingLength;
    }

    public static int CheckBinaryLength(int length) =>
        length <= ushort.MaxValue ? length : throw new ArgumentException($"Binary Data is at most 65,535 bytes (1.5.6); this is {length}.");
}
