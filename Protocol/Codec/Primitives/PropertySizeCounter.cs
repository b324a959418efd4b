namespace OrleansMqtt.Protocol;

/// <summary>An <see cref="IPropertySink"/> that only adds up encoded sizes (identifier byte included).</summary>
internal struct PropertySizeCounter : IPropertySink
{
    public int Size { get; private set; }

    public void Byte(byte id, byte value) => Size += 2;

    public void UInt16(byte id, ushort value) => Size += 3;

    public void UInt32(byte id, uint value) => Size += 5;

    public void VariableByteInteger(byte id, int value) => Size += 1 + Protocol.VariableByteInteger.Size(value);

    public void String(byte id, string value) => Size += 3 + Utf8Rules.GetEncodedLength(value);

    public void Binary(byte id, ReadOnlySpan<byte> value) => Size += 3 + WireSize.CheckBinaryLength(value.Length);

    public void StringPair(byte id, string name, string value) =>
        Size += 5 + Utf8Rules.GetEncodedLength(name) + Utf8Rules.GetEncodedLength(value);
}
