using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Writes one packet straight into an <see cref="IBufferWriter{T}"/>: it asks for a span, fills it, and advances only
/// when the span runs out or the packet is done. Fields are never split across spans except raw payload bytes,
/// so no intermediate buffer is ever needed. Call <see cref="Complete"/> at the end.
/// </summary>
internal ref struct PacketWriter : IPropertySink
{
    private const int SpanHint = 4096;

    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _position;

    /// <summary>Starts a packet and writes its fixed header (2.1.1): the first byte and the Remaining Length.</summary>
    public PacketWriter(IBufferWriter<byte> output, byte firstByte, int remainingLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        int total = WireSize.Packet(remainingLength);
        _span = output.GetSpan(Math.Min(total, SpanHint));
        _position = 0;
        WriteByte(firstByte);
        WriteVariableByteInteger(remainingLength);
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _span[_position++] = value;
    }

    public void WriteUInt16(ushort value)
    {
        Ensure(2);
        BinaryPrimitives.WriteUInt16BigEndian(_span[_position..], value);
        _position += 2;
    }

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32BigEndian(_span[_position..], value);
        _position += 4;
    }

    public void WriteVariableByteInteger(int value)
    {
        Ensure(Protocol.VariableByteInteger.MaxSize);
        _position += Protocol.VariableByteInteger.Write(_span[_position..], value);
    }

    /// <summary>A UTF-8 Encoded String (1.5.4), its length prefix and content in one span.</summary>
    public void WriteString(string value)
    {
        int length = Utf8Rules.GetEncodedLength(value);
        Ensure(2 + length);
        BinaryPrimitives.WriteUInt16BigEndian(_span[_position..], (ushort)length);
        Encoding.UTF8.GetBytes(value, _span.Slice(_position + 2, length));
        _position += 2 + length;
    }

    /// <summary>Binary Data (1.5.6).</summary>
    public void WriteBinary(ReadOnlySpan<byte> value)
    {
        WriteUInt16((ushort)WireSize.CheckBinaryLength(value.Length));
        WriteRaw(value);
    }

    /// <summary>Bytes without a length prefix, possibly spread over several spans of the output.</summary>
    public void WriteRaw(ReadOnlySpan<byte> value)
    {
        while (!value.IsEmpty)
        {
            if (_position == _span.Length)
            {
                Flush(1);
            }

            int chunk = Math.Min(value.Length, _span.Length - _position);
            value[..chunk].CopyTo(_span[_position..]);
            _position += chunk;
            value = value[chunk..];
        }
    }

    public void WriteRaw(in ReadOnlySequence<byte> value)
    {
        foreach (ReadOnlyMemory<byte> segment in value)
        {
            WriteRaw(segment.Span);
        }
    }

    /// <summary>Hands the written bytes to the output.</summary>
    public void Complete()
    {
        _output.Advance(_position);
        _position = 0;
        _span = default;
    }

    void IPropertySink.Byte(byte id, byte value)
    {
        WriteByte(id);
        WriteByte(value);
    }

    void IPropertySink.UInt16(byte id, ushort value)
    {
        WriteByte(id);
        WriteUInt16(value);
    }

    void IPropertySink.UInt32(byte id, uint value)
    {
        WriteByte(id);
        WriteUInt32(value);
    }

    void IPropertySink.VariableByteInteger(byte id, int value)
    {
        WriteByte(id);
        WriteVariableByteInteger(value);
    }

    void IPropertySink.String(byte id, string value)
    {
        WriteByte(id);
        WriteString(value);
    }

    void IPropertySink.Binary(byte id, ReadOnlySpan<byte> value)
    {
        WriteByte(id);
        WriteBinary(value);
    }

    void IPropertySink.StringPair(byte id, string name, string value)
    {
        WriteByte(id);
        WriteString(name);
        WriteString(value);
    }

    private void Ensure(int count)
    {
        if (_span.Length - _position < count)
        {
            Flush(count);
        }
    }

    private void Flush(int sizeHint)
    {
        _output.Advance(_position);
        _position = 0;
        _span = _output.GetSpan(Math.Max(sizeHint, SpanHint));
    }
}
