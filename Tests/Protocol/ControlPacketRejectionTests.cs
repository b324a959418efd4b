using System.Buffers;
using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>DISCONNECT, AUTH, PINGREQ and PINGRESP breaking a rule of 3.12 to 3.15 are refused.</summary>
public class ControlPacketRejectionTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;

    private static void AssertDisconnectRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version) =>
        Rejects.With(expected, () => MqttDecoder.DecodeDisconnect(Frame(packet), version));

    private static void AssertAuthRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version = V5) =>
        Rejects.With(expected, () => MqttDecoder.DecodeAuth(Frame(packet), version));

    [Theory]
    [InlineData(MqttProtocolVersion.V310)]
    [InlineData(MqttProtocolVersion.V311)]
    public void Disconnect_with_a_body_is_malformed_in_v3(MqttProtocolVersion version) =>
        AssertDisconnectRejected(ReasonCode.MalformedPacket, Packet(0xE0, B(0)), version);

    [Theory]
    [InlineData(0x01)]
    [InlineData(0x84)] // Unsupported Protocol Version is a CONNACK code
    [InlineData(0x91)]
    public void Disconnect_reason_code_not_in_table_is_a_protocol_error(byte code) =>
        AssertDisconnectRejected(ReasonCode.ProtocolError, Packet(0xE0, B(code)), V5);

    [Fact]
    public void Disconnect_property_not_valid_in_disconnect_is_malformed() =>
        AssertDisconnectRejected(ReasonCode.MalformedPacket, Packet(0xE0, B(0), Props(Prop(0x23, U16(1)))), V5);

    [Fact]
    public void Disconnect_duplicate_session_expiry_is_a_protocol_error() =>
        AssertDisconnectRejected(ReasonCode.ProtocolError, Packet(0xE0, B(0), Props(Prop(0x11, U32(1)), Prop(0x11, U32(1)))), V5);

    [Fact]
    public void Disconnect_with_remaining_length_0_is_a_normal_disconnection() =>
        Assert.Equal(ReasonCode.NormalDisconnection, MqttDecoder.DecodeDisconnect(Frame(Packet(0xE0)), V5).ReasonCode);

    [Theory]
    [InlineData(MqttProtocolVersion.V310)]
    [InlineData(MqttProtocolVersion.V311)]
    public void Auth_is_malformed_before_v5(MqttProtocolVersion version) =>
        AssertAuthRejected(ReasonCode.MalformedPacket, Packet(0xF0, B(0x18), Props(Prop(0x15, Str("m")))), version);

    [Fact]
    public void Auth_without_authentication_method_is_a_protocol_error()
    {
        AssertAuthRejected(ReasonCode.ProtocolError, Packet(0xF0));
        AssertAuthRejected(ReasonCode.ProtocolError, Packet(0xF0, B(0x18), Props(Prop(0x16, RawStr(1)))));
    }

    [Theory]
    [InlineData(0x87)]
    [InlineData(0x04)]
    public void Auth_reason_code_other_than_success_continue_reauthenticate_is_a_protocol_error(byte code) =>
        AssertAuthRejected(ReasonCode.ProtocolError, Packet(0xF0, B(code), Props(Prop(0x15, Str("m")))));

    [Fact]
    public void Auth_duplicate_authentication_method_is_a_protocol_error() =>
        AssertAuthRejected(ReasonCode.ProtocolError, Packet(0xF0, B(0x19), Props(Prop(0x15, Str("m")), Prop(0x15, Str("m")))));

    [Fact]
    public void Auth_property_not_valid_in_auth_is_malformed() =>
        AssertAuthRejected(ReasonCode.MalformedPacket, Packet(0xF0, B(0x18), Props(Prop(0x15, Str("m")), Prop(0x11, U32(1)))));

    [Theory]
    [InlineData(PacketType.PingReq)]
    [InlineData(PacketType.PingResp)]
    public void Ping_with_a_body_is_malformed(PacketType type) =>
        Rejects.With(ReasonCode.MalformedPacket, () => MqttDecoder.ValidatePing(Frame(Packet((byte)((int)type << 4), B(0)))));

    [Fact]
    public void Decoding_a_frame_of_another_type_is_a_caller_bug() =>
        Assert.Throws<ArgumentException>(() => MqttDecoder.DecodeDisconnect(new MqttFrame(PacketType.Auth, 0, ReadOnlySequence<byte>.Empty), V5));
}
