using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>SUBSCRIBE and UNSUBSCRIBE breaking a rule of 3.8 and 3.10 are refused; merely invalid filters are kept for SUBACK.</summary>
public class SubscribeRejectionTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;
    private static readonly byte[] NoProperties = Props();

    private static void AssertRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version) =>
        Rejects.With(expected, () => MqttDecoder.DecodeSubscribe(Frame(packet), version));

    private static void AssertUnsubscribeRejected(ReasonCode expected, byte[] packet, MqttProtocolVersion version) =>
        Rejects.With(expected, () => MqttDecoder.DecodeUnsubscribe(Frame(packet), version));

    [Fact]
    public void Packet_id_0_is_a_protocol_error()
    {
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(0), Str("a"), B(0)), V3);
        AssertUnsubscribeRejected(ReasonCode.ProtocolError, Packet(0xA2, U16(0), NoProperties, Str("a")), V5);
    }

    [Fact]
    public void Subscribe_without_filters_is_a_protocol_error()
    {
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1)), V3);
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), NoProperties), V5);
    }

    [Fact]
    public void Unsubscribe_without_filters_is_a_protocol_error()
    {
        AssertUnsubscribeRejected(ReasonCode.ProtocolError, Packet(0xA2, U16(1)), V3);
        AssertUnsubscribeRejected(ReasonCode.ProtocolError, Packet(0xA2, U16(1), NoProperties), V5);
    }

    [Theory]
    [InlineData(0x03)] // QoS 3
    [InlineData(0x04)] // No Local does not exist in 3.1.1
    [InlineData(0x80)]
    [InlineData(0x21)]
    public void Requested_qos_byte_other_than_0_to_2_is_malformed_in_3_1_1(byte options) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), Str("a"), B(options)), V3);

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x80)]
    [InlineData(0xC1)]
    public void Reserved_subscription_option_bits_are_malformed_in_v5(byte options) =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), NoProperties, Str("a"), B(options)), V5);

    [Fact]
    public void Maximum_qos_3_is_a_protocol_error_in_v5() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), NoProperties, Str("a"), B(0x03)), V5);

    [Fact]
    public void Retain_handling_3_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), NoProperties, Str("a"), B(0x30)), V5);

    [Fact]
    public void No_local_on_a_shared_subscription_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), NoProperties, Str("$share/g/a"), B(0x04)), V5);

    [Fact]
    public void Subscription_identifier_0_is_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), Props(Prop(0x0B, Vbi(0))), Str("a"), B(0)), V5);

    [Fact]
    public void Two_subscription_identifiers_are_a_protocol_error() =>
        AssertRejected(ReasonCode.ProtocolError, Packet(0x82, U16(1), Props(Prop(0x0B, Vbi(1)), Prop(0x0B, Vbi(2))), Str("a"), B(0)), V5);

    [Fact]
    public void Subscription_identifier_longer_than_four_bytes_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), Props(Prop(0x0B, B(0x80, 0x80, 0x80, 0x80, 0x01))), Str("a"), B(0)), V5);

    [Fact]
    public void Property_other_than_subscription_identifier_and_user_property_is_malformed()
    {
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), Props(Prop(0x1F, Str("x"))), Str("a"), B(0)), V5);
        AssertUnsubscribeRejected(ReasonCode.MalformedPacket, Packet(0xA2, U16(1), Props(Prop(0x0B, Vbi(1))), Str("a")), V5);
    }

    [Fact]
    public void Missing_options_byte_is_malformed() =>
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), Str("a"), B(0), Str("b")), V3);

    [Fact]
    public void Ill_formed_filter_is_malformed()
    {
        AssertRejected(ReasonCode.MalformedPacket, Packet(0x82, U16(1), RawStr(0xC3), B(0)), V3);
        AssertUnsubscribeRejected(ReasonCode.MalformedPacket, Packet(0xA2, U16(1), RawStr(0x00)), V3);
    }

    [Fact]
    public void Invalid_filters_are_kept_for_the_server_to_refuse_one_by_one()
    {
        byte[] packet = Packet(0x82, U16(1), NoProperties, Str("a+"), B(1), Str("ok/#"), B(2), Str("a/#/b"), B(0), Str(""), B(0), Str("$share/g"), B(0));

        SubscribePacket subscribe = MqttDecoder.DecodeSubscribe(Frame(packet), V5);

        Assert.Equal(["a+", "ok/#", "a/#/b", "", "$share/g"], subscribe.Subscriptions.Select(s => s.Filter));
        Assert.Equal([false, true, false, false, false], subscribe.Subscriptions.Select(s => Topic.IsValidFilter(s.Filter)));
    }

    [Fact]
    public void Invalid_unsubscribe_filters_are_kept()
    {
        UnsubscribePacket unsubscribe = MqttDecoder.DecodeUnsubscribe(Frame(Packet(0xA2, U16(1), Str("a/#/b"), Str(""))), V3);

        Assert.Equal(["a/#/b", ""], unsubscribe.Filters);
    }

    [Fact]
    public void Subscription_options_are_decoded()
    {
        TopicSubscription subscription = Assert.Single(MqttDecoder.DecodeSubscribe(Frame(Packet(0x82, U16(1), NoProperties, Str("a"), B(0b0010_1110))), V5).Subscriptions);

        Assert.Equal(new TopicSubscription("a", QualityOfService.ExactlyOnce, NoLocal: true, RetainAsPublished: true, RetainHandling.DoNotSend), subscription);
    }
}
