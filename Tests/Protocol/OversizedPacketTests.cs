using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>A packet bigger than the allowed maximum is refused as soon as its header says so, before its body arrives.</summary>
public class OversizedPacketTests
{
    [Fact]
    public void Header_announcing_too_large_a_body_is_refused_with_only_the_header_received()
    {
        // PUBLISH, Remaining Length 1,000,000 (0xC0 0x84 0x3D): 1,000,004 bytes in all; not one body byte present.
        var headerOnly = new ReadOnlySequence<byte>([0x30, 0xC0, 0x84, 0x3D]);

        Rejects.With(ReasonCode.PacketTooLarge, () => MqttFrameReader.TryRead(headerOnly, 1_000_000, out _, out _));
    }

    [Fact]
    public void Maximum_packet_size_counts_the_fixed_header()
    {
        byte[] packet = Wire.Packet(0x30, Wire.Str("t"), new byte[7]); // 2 + 10 bytes.
        var input = new ReadOnlySequence<byte>(packet);

        Assert.True(MqttFrameReader.TryRead(input, 12, out _, out _));
        Rejects.With(ReasonCode.PacketTooLarge, () => MqttFrameReader.TryRead(input, 11, out _, out _));
    }

    [Fact]
    public void Largest_remaining_length_is_accepted_when_the_maximum_allows_it()
    {
        // 0xFF 0xFF 0xFF 0x7F = 268,435,455, the largest four-byte value; the body has not arrived, so: incomplete.
        var header = new ReadOnlySequence<byte>([0x30, 0xFF, 0xFF, 0xFF, 0x7F]);

        Assert.False(MqttFrameReader.TryRead(header, int.MaxValue, out _, out _));
    }
}
