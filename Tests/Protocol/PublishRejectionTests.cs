using System.Buffers;
using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>PUBLISH breaking a rule of 3.3 is refused with the reason code the receiver disconnects with.</summary>
public class PublishRejectionTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;
    private static readonly byte[] NoProperties = Props();

    private static void AssertRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version, bool fromServer = false) =>
        Rejects.With(expected, () => MqttDecoder.DecodePublish(Frame(packet), version, fromServer));

    [Theory]
    [InlineData("a/+")]
    [InlineData("+")]
    [InlineData("a/#")]
    [InlineData("a+b")]
    [InlineData("sport#")]
    public void Topic_with_wildcard_is_topic_name_invalid(string topic)
    {
        AssertRejected(ReasonCode.TopicNameInvalid, Packet(0x30, Str(topic)), V3);
        AssertRejected(ReasonCode.TopicNameInvalid, Packet(0x30, Str(topic), NoProperties), V5);
    }

    [Theory]
    [InlineData("a\u0001b")]
    [InlineData("line\nbreak")]
    [InlineData("del\u007F")]
    [InlineData("c1\u0085")]
    [InlineData("nonchar\uFFFF")]
    [InlineData("nonchar\uFDD0")]
    public void Topic_with_disallowed_code_point_is_topic_name_invalid(string topic) =>
        AssertRejected(ReasonCode.TopicNameInvalid, Packet(0x30, Str(topic), NoProperties), V5);

    [Theory]
    [InlineData(new byte[] { 0x61, 0x00 })]
    [InlineData(new byte[] { 0xED, 0xBF, 0xBF })]
    [InlineData(new byte[] { 0xF8, 0x88, 0x80, 0x80, 0x80 })]
    [InlineData(new byte[] { 0x80 })]
    public void Ill_formed_topic_is_malformed(byte[] utf8) => AssertRejected(ReasonCode.MalformedPacket, Packet(0x30, RawStr(utf8)), V3);

    [Fact]
    public void Empty_topic_is_a_protocol_error_in_3_1_1() => AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("")), V3);

    [Fact]
    public void Empty_topic_without_topic_alias_is_a_protocol_error_in_v5() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str(""), NoProperties), V5);

    [Fact]
    public void Empty_topic_with_topic_alias_is_accepted_in_v5()
    {
        PublishPacket publish = MqttDecoder.DecodePublish(Frame(Packet(0x30, Str(""), Props(Prop(0x23, U16(3))))), V5);

        Assert.Equal("", publish.Topic);
        Assert.Equal((ushort)3, publish.Properties!.TopicAlias);
    }

    [Theory]
    [InlineData(0x32)]
    [InlineData(0x34)]
    public void Packet_id_0_at_qos_above_0_is_a_protocol_error(byte firstByte)
    {
        AssertRejected(ReasonCode.ProtocolError, Packet(firstByte, Str("t"), U16(0)), V3);
        AssertRejected(ReasonCode.ProtocolError, Packet(firstByte, Str("t"), U16(0), NoProperties), V5);
    }

    [Fact]
    public void Missing_packet_id_at_qos_1_is_malformed() => AssertRejected(ReasonCode.MalformedPacket, Packet(0x32, Str("t"), B(1)), V3);

    [Fact]
    public void Topic_longer_than_the_packet_is_malformed() => AssertRejected(ReasonCode.MalformedPacket, Packet(0x30, U16(10), B(0x61)), V3);

    [Fact]
    public void Topic_alias_0_is_topic_alias_invalid() =>
        AssertRejected(ReasonCode.TopicAliasInvalid, Packet(0x30, Str("t"), Props(Prop(0x23, U16(0)))), V5);

    [Fact]
    public void Subscription_identifier_from_a_client_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("t"), Props(Prop(0x0B, Vbi(5)))), V5);

    [Fact]
    public void Subscription_identifiers_from_a_server_are_kept_in_order()
    {
        byte[] packet = Packet(0x30, Str("t"), Props(Prop(0x0B, Vbi(5)), Prop(0x0B, Vbi(268_435_455))));

        PublishPacket publish = MqttDecoder.DecodePublish(Frame(packet), V5, fromServer: true);

        Assert.Equal([5u, 268_435_455u], publish.Properties!.SubscriptionIdentifiers!);
    }

    [Fact]
    public void Subscription_identifier_0_from_a_server_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("t"), Props(Prop(0x0B, Vbi(0)))), V5, fromServer: true);

    [Theory]
    [InlineData("reply/+")]
    [InlineData("#")]
    [InlineData("")]
    public void Response_topic_that_is_not_a_topic_name_is_a_protocol_error(string responseTopic) =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("t"), Props(Prop(0x08, Str(responseTopic)))), V5);

    [Fact]
    public void Payload_format_indicator_2_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("t"), Props(Prop(0x01, B(2)))), V5);

    [Theory]
    [InlineData(0x02, new byte[] { 0, 0, 0, 1 })] // Message Expiry Interval
    [InlineData(0x23, new byte[] { 0, 1 })] // Topic Alias
    [InlineData(0x03, new byte[] { 0, 1, 0x61 })] // Content Type "a"
    [InlineData(0x09, new byte[] { 0, 0 })] // Correlation Data, empty
    public void Duplicate_property_is_a_protocol_error(byte id, byte[] value) =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x30, Str("t"), Props(Prop(id, value), Prop(id, value))), V5);

    [Theory]
    [InlineData(0x18)] // Will Delay Interval: will properties only
    [InlineData(0x11)] // Session Expiry Interval
    [InlineData(0x26 + 0x40)] // unknown
    public void Property_not_valid_in_publish_is_malformed(byte id) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x30, Str("t"), Props(Prop(id, U32(1)))), V5);

    [Fact]
    public void Hand_made_frame_with_qos_3_is_malformed() =>
        Rejects.With(ReasonCode.MalformedPacket, () => MqttDecoder.DecodePublish(
            new MqttFrame(PacketType.Publish, 0b0110, new ReadOnlySequence<byte>(Concat(Str("t"), U16(1)))), V3));

    [Fact]
    public void Zero_length_payload_is_accepted()
    {
        PublishPacket publish = MqttDecoder.DecodePublish(Frame(Packet(0x31, Str("t"))), V3);

        Assert.True(publish.Payload.IsEmpty);
        Assert.True(publish.Retain);
    }
}
