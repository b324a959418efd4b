using System.Buffers;
using System.Text;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>Hand-builds packet bytes, to produce exactly the malformed inputs the encoder refuses to write.</summary>
internal static class Wire
{
    /// <summary>A whole packet: first byte, Remaining Length computed from the parts, then the parts.</summary>
    public static byte[] Packet(byte firstByte, params byte[][] parts)
    {
        byte[] body = Concat(parts);
        return [firstByte, .. Vbi(body.Length), .. body];
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] Str(string value) => RawStr(Encoding.UTF8.GetBytes(value));

    /// <summary>A length-prefixed string of arbitrary bytes, which may be ill-formed UTF-8.</summary>
    public static byte[] RawStr(params byte[] utf8) => [(byte)(utf8.Length >> 8), (byte)utf8.Length, .. utf8];

    public static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    public static byte[] U32(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public static byte[] Vbi(int value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value > 0 ? (byte)(b | 0x80) : b);
        }
        while (value > 0);
        return [.. bytes];
    }

    /// <summary>A property list: its Variable Byte Integer length, then the properties.</summary>
    public static byte[] Props(params byte[][] properties)
    {
        byte[] body = Concat(properties);
        return [.. Vbi(body.Length), .. body];
    }

    public static byte[] Prop(byte id, params byte[][] value) => [id, .. Concat(value)];

    public static byte[] B(params byte[] bytes) => bytes;

    /// <summary>A v5 CONNECT with the given flags, properties and payload fields.</summary>
    public static byte[] ConnectV5(byte flags, byte[] properties, params byte[][] payload) =>
        Packet(0x10, Str("MQTT"), B(5, flags), U16(60), properties, Concat(payload));

    /// <summary>A 3.1.1 CONNECT with the given flags and payload fields.</summary>
    public static byte[] ConnectV311(byte flags, params byte[][] payload) =>
        Packet(0x10, Str("MQTT"), B(4, flags), U16(60), Concat(payload));

    /// <summary>Frames <paramref name="packet"/>, which must be exactly one whole packet.</summary>
    public static MqttFrame Frame(byte[] packet)
    {
        var input = new ReadOnlySequence<byte>(packet);
        Assert.True(MqttFrameReader.TryRead(input, int.MaxValue, out MqttFrame frame, out SequencePosition consumed));
        Assert.Equal(input.End, consumed);
        return frame;
    }
}
