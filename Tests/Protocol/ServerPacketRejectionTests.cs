using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>A client refuses CONNACK, SUBACK and UNSUBACK that break a rule of 3.2, 3.9 and 3.11.</summary>
public class ServerPacketRejectionTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;

    private static void AssertConnAckRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version) =>
        Rejects.With(expected, () => MqttDecoder.DecodeConnAck(Frame(packet), version));

    [Theory]
    [InlineData(0x02)]
    [InlineData(0x80)]
    public void Connack_reserved_acknowledge_flags_are_malformed(byte flags)
    {
        AssertConnAckRejected(ReasonCode.MalformedPacket, Packet(0x20, B(flags, 0)), V3);
        AssertConnAckRejected(ReasonCode.MalformedPacket, Packet(0x20, B(flags, 0), Props()), V5);
    }

    [Fact]
    public void Connack_session_present_with_a_refusal_is_a_protocol_error()
    {
        AssertConnAckRejected(ReasonCode.ProtocolError, Packet(0x20, B(1, 5)), V3);
        AssertConnAckRejected(ReasonCode.ProtocolError, Packet(0x20, B(1, 0x87), Props()), V5);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(0x80)]
    public void Connack_reserved_v3_return_code_is_a_protocol_error(byte code) =>
        AssertConnAckRejected(ReasonCode.ProtocolError, Packet(0x20, B(0, code)), V3);

    [Theory]
    [InlineData(0x04)]
    [InlineData(0x8B)] // Server shutting down is a DISCONNECT code
    public void Connack_reason_code_not_in_table_is_a_protocol_error(byte code) =>
        AssertConnAckRejected(ReasonCode.ProtocolError, Packet(0x20, B(0, code), Props()), V5);

    [Fact]
    public void Connack_longer_than_2_bytes_is_malformed_in_v3() =>
        AssertConnAckRejected(ReasonCode.MalformedPacket, Packet(0x20, B(0, 0, 0)), V3);

    [Theory]
    [InlineData(0x24, new byte[] { 2 })] // Maximum QoS
    [InlineData(0x25, new byte[] { 2 })] // Retain Available
    [InlineData(0x28, new byte[] { 3 })] // Wildcard Subscription Available
    [InlineData(0x21, new byte[] { 0, 0 })] // Receive Maximum
    [InlineData(0x27, new byte[] { 0, 0, 0, 0 })] // Maximum Packet Size
    public void Connack_property_value_out_of_range_is_a_protocol_error(byte id, byte[] value) =>
        AssertConnAckRejected(ReasonCode.ProtocolError, Packet(0x20, B(0, 0), Props(Prop(id, value))), V5);

    [Fact]
    public void Connack_property_not_valid_in_connack_is_malformed() =>
        AssertConnAckRejected(ReasonCode.MalformedPacket, Packet(0x20, B(0, 0), Props(Prop(0x18, U32(1)))), V5);

    [Fact]
    public void Suback_without_codes_is_a_protocol_error()
    {
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeSubAck(Frame(Packet(0x90, U16(1))), V3));
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeSubAck(Frame(Packet(0x90, U16(1), Props())), V5));
    }

    [Fact]
    public void Suback_code_not_in_table_is_a_protocol_error()
    {
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeSubAck(Frame(Packet(0x90, U16(1), B(0x83))), V3));
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeSubAck(Frame(Packet(0x90, U16(1), Props(), B(0x11))), V5));
    }

    [Fact]
    public void Unsuback_with_a_payload_is_malformed_in_v3() =>
        Rejects.With(ReasonCode.MalformedPacket, () => MqttDecoder.DecodeUnsubAck(Frame(Packet(0xB0, U16(1), B(0))), V3));

    [Fact]
    public void Unsuback_without_codes_or_with_a_bad_code_is_a_protocol_error_in_v5()
    {
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeUnsubAck(Frame(Packet(0xB0, U16(1), Props())), V5));
        Rejects.With(ReasonCode.ProtocolError, () => MqttDecoder.DecodeUnsubAck(Frame(Packet(0xB0, U16(1), Props(), B(0x01))), V5));
    }
}
