using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>The frame reader refuses what the fixed header alone shows to be wrong, before any body arrives.</summary>
public class FixedHeaderRejectionTests
{
    private static void AssertMalformed(params byte[] input) =>
        Rejects.With(ReasonCode.MalformedPacket, () => MqttFrameReader.TryRead(new ReadOnlySequence<byte>(input), int.MaxValue, out _, out _));

    [Fact]
    public void Packet_type_0_is_malformed() => AssertMalformed(0x00, 0x00);

    [Theory]
    [InlineData(0x11)] // CONNECT
    [InlineData(0x28)] // CONNACK
    [InlineData(0x41)] // PUBACK
    [InlineData(0x52)] // PUBREC
    [InlineData(0x74)] // PUBCOMP
    [InlineData(0x91)] // SUBACK
    [InlineData(0xB2)] // UNSUBACK
    [InlineData(0xC1)] // PINGREQ
    [InlineData(0xD8)] // PINGRESP
    [InlineData(0xE2)] // DISCONNECT
    [InlineData(0xF1)] // AUTH
    public void Reserved_flags_that_must_be_0000_but_are_not_are_malformed(byte firstByte) => AssertMalformed(firstByte, 0x00);

    [Theory]
    [InlineData(0x60)] // PUBREL
    [InlineData(0x63)]
    [InlineData(0x80)] // SUBSCRIBE
    [InlineData(0x8A)] // 3.1 style DUP on a retried SUBSCRIBE
    [InlineData(0xA0)] // UNSUBSCRIBE
    [InlineData(0xA6)]
    public void Pubrel_subscribe_unsubscribe_flags_other_than_0010_are_malformed(byte firstByte) => AssertMalformed(firstByte, 0x00);

    [Theory]
    [InlineData(0x36)]
    [InlineData(0x37)]
    [InlineData(0x3E)]
    public void Publish_with_qos_3_is_malformed(byte firstByte) => AssertMalformed(firstByte, 0x00);

    [Theory]
    [InlineData(0x38)]
    [InlineData(0x39)]
    public void Publish_with_dup_on_qos_0_is_malformed(byte firstByte) => AssertMalformed(firstByte, 0x00);

    [Fact]
    public void Flags_are_checked_before_the_remaining_length_arrives() => AssertMalformed(0x11);

    [Fact]
    public void Remaining_length_of_five_bytes_is_malformed() => AssertMalformed(0x30, 0x80, 0x80, 0x80, 0x80, 0x01);

    [Fact]
    public void Remaining_length_is_malformed_as_soon_as_its_fourth_byte_continues() => AssertMalformed(0x30, 0xFF, 0xFF, 0xFF, 0xFF);

    [Fact]
    public void Non_minimal_remaining_length_is_accepted()
    {
        // 0x80 0x00 encodes 0 in two bytes: [MQTT-1.5.5-1] binds the sender; 3.1.1 has no such rule.
        var input = new ReadOnlySequence<byte>([0xC0, 0x80, 0x00]);

        Assert.True(MqttFrameReader.TryRead(input, int.MaxValue, out MqttFrame frame, out SequencePosition consumed));
        Assert.Equal(PacketType.PingReq, frame.Type);
        Assert.True(frame.Body.IsEmpty);
        Assert.Equal(input.End, consumed);
    }

    [Fact]
    public void Empty_input_is_incomplete() =>
        Assert.False(MqttFrameReader.TryRead(ReadOnlySequence<byte>.Empty, int.MaxValue, out _, out _));
}
