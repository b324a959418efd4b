using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>PUBACK, PUBREC, PUBREL and PUBCOMP breaking a rule of 3.4 to 3.7 are refused.</summary>
public class AckRejectionTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;

    private static void AssertRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version) =>
        Rejects.With(expected, () => MqttDecoder.DecodeAck(Frame(packet), version));

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x50)]
    [InlineData(0x62)]
    [InlineData(0x70)]
    public void Packet_id_0_is_a_protocol_error(byte firstByte)
    {
        AssertRejected(ReasonCode.ProtocolError, Packet(firstByte, U16(0)), V3);
        AssertRejected(ReasonCode.ProtocolError, Packet(firstByte, U16(0)), V5);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x62)]
    public void Remaining_length_other_than_2_is_malformed_in_3_1_1(byte firstByte)
    {
        AssertRejected(ReasonCode.MalformedPacket, Packet(firstByte, U16(1), B(0)), V3);
        AssertRejected(ReasonCode.MalformedPacket, Packet(firstByte, B(1)), V3);
    }

    [Fact]
    public void Remaining_length_1_is_malformed_in_v5() => AssertRejected(ReasonCode.MalformedPacket, Packet(0x40, B(1)), V5);

    [Theory]
    [InlineData(0x40, 0x92)] // PUBACK: Packet Identifier not found belongs to PUBREL/PUBCOMP
    [InlineData(0x50, 0x01)]
    [InlineData(0x62, 0x10)] // PUBREL: only 0x00 and 0x92
    [InlineData(0x70, 0x80)] // PUBCOMP: only 0x00 and 0x92
    [InlineData(0x40, 0x04)]
    public void Reason_code_not_in_the_packet_type_table_is_a_protocol_error(byte firstByte, byte code) =>
        AssertRejected(ReasonCode.ProtocolError, Packet(firstByte, U16(1), B(code)), V5);

    [Fact]
    public void Remaining_length_2_means_success() =>
        Assert.Equal(ReasonCode.Success, MqttDecoder.DecodeAck(Frame(Packet(0x50, U16(9))), V5).ReasonCode);

    [Fact]
    public void Remaining_length_3_carries_a_reason_code_without_properties()
    {
        PacketIdAck ack = MqttDecoder.DecodeAck(Frame(Packet(0x40, U16(9), B(0x10))), V5);

        Assert.Equal(ReasonCode.NoMatchingSubscribers, ack.ReasonCode);
        Assert.Null(ack.UserProperties);
    }

    [Fact]
    public void Empty_property_list_is_accepted() =>
        Assert.Equal(PacketType.PubComp, MqttDecoder.DecodeAck(Frame(Packet(0x70, U16(9), B(0), Props())), V5).Type);

    [Theory]
    [InlineData(0x01)] // Payload Format Indicator
    [InlineData(0x0B)] // Subscription Identifier
    public void Property_other_than_reason_string_and_user_property_is_malformed(byte id) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x40, U16(1), B(0), Props(Prop(id, B(1)))), V5);

    [Fact]
    public void Duplicate_reason_string_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x40, U16(1), B(0x80), Props(Prop(0x1F, Str("a")), Prop(0x1F, Str("b")))), V5);

    [Fact]
    public void Bytes_after_the_properties_are_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x40, U16(1), B(0), Props(), B(0)), V5);
}
