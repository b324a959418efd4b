using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>CONNECT breaking a rule of 3.1 is refused with the reason code a server answers with.</summary>
public class ConnectRejectionTests
{
    private static readonly byte[] NoProperties = Props();

    private static void AssertRejected(ReasonCode expected, byte[] packet) =>
        Rejects.With(expected, () => MqttDecoder.DecodeConnect(Frame(packet)));

    [Fact]
    public void Well_formed_v5_connect_with_empty_client_id_is_accepted()
    {
        ConnectPacket connect = MqttDecoder.DecodeConnect(Frame(ConnectV5(0x02, NoProperties, Str(""))));

        Assert.Equal("", connect.ClientId);
        Assert.Equal(MqttProtocolVersion.V500, connect.ProtocolVersion);
    }

    [Theory]
    [InlineData("MQTX", 4)]
    [InlineData("mqtt", 4)]
    [InlineData("MQIsdp ", 3)]
    [InlineData("", 4)]
    public void Unknown_protocol_name_is_malformed(string name, byte level) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x10, Str(name), B(level, 0x02), U16(60), Str("id")));

    [Theory]
    [InlineData("MQTT", 3)]
    [InlineData("MQTT", 6)]
    [InlineData("MQTT", 0)]
    [InlineData("MQIsdp", 4)]
    [InlineData("MQIsdp", 5)]
    public void Known_protocol_name_with_unsupported_level_is_unsupported_protocol_version(string name, byte level) =>
        AssertRejected(ReasonCode.UnsupportedProtocolVersion, Packet(0x10, Str(name), B(level, 0x02), U16(60), Str("id")));

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Reserved_connect_flag_is_malformed(byte level) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x10, Str("MQTT"), B(level, 0x03), U16(60), level == 5 ? NoProperties : [], Str("id")));

    [Theory]
    [InlineData(0x0A)] // Will QoS 1, no Will Flag
    [InlineData(0x12)] // Will QoS 2, no Will Flag
    public void Will_qos_without_will_flag_is_malformed(byte flags) =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(flags, Str("id")));

    [Fact]
    public void Will_retain_without_will_flag_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x22, NoProperties, Str("id")));

    [Fact]
    public void Will_qos_3_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x1E, Str("id"), Str("w"), Str("x")));

    [Fact]
    public void Password_without_user_name_is_malformed_in_3_1_1() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x42, Str("id"), Str("pw")));

    [Fact]
    public void Password_without_user_name_is_allowed_in_v5()
    {
        ConnectPacket connect = MqttDecoder.DecodeConnect(Frame(ConnectV5(0x42, NoProperties, Str("id"), Str("pw"))));

        Assert.Null(connect.UserName);
        Assert.Equal("pw"u8.ToArray(), connect.Password);
    }

    [Fact]
    public void User_name_flag_without_user_name_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x82, Str("id")));

    [Fact]
    public void Will_flag_without_will_payload_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x06, Str("id"), Str("will/topic")));

    [Fact]
    public void Bytes_after_the_last_field_are_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x02, Str("id"), B(0)));

    [Theory]
    [InlineData(new byte[] { 0xFF })] // never valid in UTF-8
    [InlineData(new byte[] { 0x61, 0x00 })] // U+0000
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // U+D800, a surrogate
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong '/'
    [InlineData(new byte[] { 0xE2, 0x82 })] // truncated sequence
    public void Ill_formed_client_id_is_malformed(byte[] utf8) =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV311(0x02, RawStr(utf8)));

    [Fact]
    public void Duplicate_property_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(0x11, U32(1)), Prop(0x11, U32(2))), Str("id")));

    [Fact]
    public void Duplicate_authentication_method_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(0x15, Str("a")), Prop(0x15, Str("a"))), Str("id")));

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x7F)]
    [InlineData(0x2B)]
    public void Unknown_property_is_malformed(byte id) =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x02, Props(Prop(id, B(0))), Str("id")));

    [Theory]
    [InlineData(0x23)] // Topic Alias
    [InlineData(0x18)] // Will Delay Interval belongs in the will properties
    [InlineData(0x24)] // Maximum QoS is CONNACK's
    public void Property_of_another_packet_is_malformed(byte id) =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x02, Props(Prop(id, U32(1))), Str("id")));

    [Fact]
    public void Receive_maximum_0_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(0x21, U16(0))), Str("id")));

    [Fact]
    public void Maximum_packet_size_0_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(0x27, U32(0))), Str("id")));

    [Theory]
    [InlineData(0x17)] // Request Problem Information
    [InlineData(0x19)] // Request Response Information
    public void Request_information_other_than_0_or_1_is_a_protocol_error(byte id) =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(id, B(2))), Str("id")));

    [Fact]
    public void Authentication_data_without_method_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x02, Props(Prop(0x16, RawStr(1, 2))), Str("id")));

    [Fact]
    public void Property_length_past_the_end_of_the_packet_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x02, B(100), Str("id")));

    [Fact]
    public void Property_running_past_the_property_length_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x02, B(3, 0x11, 0, 0, 0, 0), Str("id")));

    [Theory]
    [InlineData("will/#")]
    [InlineData("will/+/x")]
    [InlineData("")]
    [InlineData("bell\u0007")]
    public void Will_topic_that_is_not_a_topic_name_is_topic_name_invalid(string topic)
    {
        AssertRejected(ReasonCode.TopicNameInvalid, ConnectV311(0x06, Str("id"), Str(topic), Str("bye")));
        AssertRejected(ReasonCode.TopicNameInvalid, ConnectV5(0x06, NoProperties, Str("id"), NoProperties, Str(topic), Str("bye")));
    }

    [Theory]
    [InlineData(0x0B)] // Subscription Identifier
    [InlineData(0x23)] // Topic Alias
    [InlineData(0x11)] // Session Expiry Interval
    public void Will_property_not_valid_in_a_will_is_malformed(byte id) =>
        AssertRejected(ReasonCode.MalformedPacket, ConnectV5(0x06, NoProperties, Str("id"), Props(Prop(id, U16(1))), Str("w"), Str("bye")));

    [Fact]
    public void Will_payload_format_indicator_2_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x06, NoProperties, Str("id"), Props(Prop(0x01, B(2))), Str("w"), Str("bye")));

    [Fact]
    public void Will_response_topic_with_wildcard_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x06, NoProperties, Str("id"), Props(Prop(0x08, Str("r/#"))), Str("w"), Str("bye")));

    [Fact]
    public void Duplicate_will_delay_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, ConnectV5(0x06, NoProperties, Str("id"), Props(Prop(0x18, U32(1)), Prop(0x18, U32(1))), Str("w"), Str("bye")));
}
