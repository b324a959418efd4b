namespace OrleansMqtt.Protocol;

/// <summary>
/// Receives v5 properties one at a time. Each packet's property list is written once, as a method generic over the
/// sink, and run twice: with <see cref="PropertySizeCounter"/> to learn the Property Length, then with
/// <see cref="PacketWriter"/> to write; so the length can never disagree with the bytes.
/// </summary>
internal interface IPropertySink
{
    void Byte(byte id, byte value);

    void UInt16(byte id, ushort value);

    void UInt32(byte id, uint value);

    void VariableByteInteger(byte id, int value);

    void String(byte id, string value);

    void Binary(byte id, ReadOnlySpan<byte> value);

    void StringPair(byte id, string name, string value);
}

/// <summary>Helpers over any sink for properties that are optional or repeated.</summary>
internal static class PropertySinkExtensions
{
    public static void UserProperties<TSink>(this ref TSink sink, IReadOnlyList<UserProperty>? properties)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (properties is null)
        {
            return;
        }

        // Order is significant and duplicates are allowed (3.3.2.3.7).
        for (int i = 0; i < properties.Count; i++)
        {
            sink.StringPair(PropertyId.UserProperty, properties[i].Name, properties[i].Value);
        }
    }

    public static void OptionalString<TSink>(this ref TSink sink, byte id, string? value)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (value is not null)
        {
            sink.String(id, value);
        }
    }

    public static void OptionalBinary<TSink>(this ref TSink sink, byte id, byte[]? value)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (value is not null)
        {
            sink.Binary(id, value);
        }
    }

    public static void OptionalUInt32<TSink>(this ref TSink sink, byte id, uint? value)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (value is { } v)
        {
            sink.UInt32(id, v);
        }
    }

    public static void OptionalUInt16<TSink>(this ref TSink sink, byte id, ushort? value)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (value is { } v)
        {
            sink.UInt16(id, v);
        }
    }

    public static void OptionalFlag<TSink>(this ref TSink sink, byte id, bool? value)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (value is { } v)
        {
            sink.Byte(id, v ? (byte)1 : (byte)0);
        }
    }
}
