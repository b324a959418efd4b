using System.Buffers;
using OrleansMqtt.Protocol;
using static OrleansMqtt.Tests.Protocol.Wire;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>What the encoder puts on the wire, byte for byte, where the spec offers a choice or a mapping.</summary>
public class EncoderOutputTests
{
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;

    [Fact]
    public void V5_ack_with_success_and_no_properties_is_two_bytes_of_body() =>
        Assert.Equal(B(0x40, 2, 0x12, 0x34), Codec.Encode(new PacketIdAck(PacketType.PubAck, 0x1234), V5));

    [Fact]
    public void V5_ack_with_failure_and_no_properties_omits_the_property_length() =>
        Assert.Equal(B(0x50, 3, 0, 1, 0x97), Codec.Encode(new PacketIdAck(PacketType.PubRec, 1, ReasonCode.QuotaExceeded), V5));

    [Fact]
    public void V3_ack_drops_reason_code_and_properties() =>
        Assert.Equal(B(0x62, 2, 0, 1), Codec.Encode(new PacketIdAck(PacketType.PubRel, 1, ReasonCode.PacketIdentifierNotFound, "x"), V3));

    [Fact]
    public void V5_normal_disconnect_without_properties_has_remaining_length_0() =>
        Assert.Equal(B(0xE0, 0), Codec.Encode(DisconnectPacket.Normal, V5));

    [Fact]
    public void V5_disconnect_with_reason_only_has_remaining_length_1() =>
        Assert.Equal(B(0xE0, 1, 0x8B), Codec.Encode(new DisconnectPacket { ReasonCode = ReasonCode.ServerShuttingDown }, V5));

    [Fact]
    public void V3_disconnect_ignores_the_reason() =>
        Assert.Equal(B(0xE0, 0), Codec.Encode(new DisconnectPacket { ReasonCode = ReasonCode.ServerShuttingDown }, V3));

    [Fact]
    public void Pings_are_two_bytes()
    {
        Assert.Equal(B(0xC0, 0), Codec.Encode(new PingPacket(PacketType.PingReq), V3));
        Assert.Equal(B(0xD0, 0), Codec.Encode(new PingPacket(PacketType.PingResp), V5));
    }

    [Fact]
    public void V3_suback_writes_any_failure_as_0x80()
    {
        var suback = new SubAckPacket
        {
            PacketId = 1,
            ReasonCodes = [ReasonCode.GrantedQoS1, ReasonCode.TopicFilterInvalid, ReasonCode.NotAuthorized, ReasonCode.GrantedQoS2],
        };

        Assert.Equal(B(0x90, 6, 0, 1, 1, 0x80, 0x80, 2), Codec.Encode(suback, V3));
    }

    [Theory]
    [InlineData(ReasonCode.Success, 0)]
    [InlineData(ReasonCode.UnsupportedProtocolVersion, 1)]
    [InlineData(ReasonCode.ClientIdentifierNotValid, 2)]
    [InlineData(ReasonCode.ServerUnavailable, 3)]
    [InlineData(ReasonCode.ServerBusy, 3)]
    [InlineData(ReasonCode.UnspecifiedError, 3)]
    [InlineData(ReasonCode.BadUserNameOrPassword, 4)]
    [InlineData(ReasonCode.BadAuthenticationMethod, 4)]
    [InlineData(ReasonCode.NotAuthorized, 5)]
    [InlineData(ReasonCode.Banned, 5)]
    public void V3_connack_maps_reason_codes_to_return_codes(ReasonCode reason, byte returnCode) =>
        Assert.Equal(B(0x20, 2, 0, returnCode), Codec.Encode(new ConnAckPacket { ReasonCode = reason }, V3));

    [Fact]
    public void Connack_refusal_never_claims_a_session_is_present()
    {
        var refusal = new ConnAckPacket { SessionPresent = true, ReasonCode = ReasonCode.NotAuthorized };

        Assert.Equal(B(0x20, 2, 0, 5), Codec.Encode(refusal, V3));
        Assert.Equal(B(0x20, 3, 0, 0x87, 0), Codec.Encode(refusal, V5));
    }

    [Fact]
    public void Publish_at_qos_0_never_sets_dup() =>
        Assert.Equal(B(0x31, 3, 0, 1, 0x74), Codec.Encode(new PublishPacket { Topic = "t", Dup = true, Retain = true }, V3));

    [Fact]
    public void Fixed_header_flags_of_pubrel_subscribe_unsubscribe_are_0010()
    {
        Assert.Equal(0x62, Codec.Encode(new PacketIdAck(PacketType.PubRel, 1), V5)[0]);
        Assert.Equal(0x82, Codec.Encode(new SubscribePacket { PacketId = 1, Subscriptions = [new("a", QualityOfService.AtMostOnce)] }, V5)[0]);
        Assert.Equal(0xA2, Codec.Encode(new UnsubscribePacket { PacketId = 1, Filters = ["a"] }, V5)[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(20_000)]
    [InlineData(2_100_000)]
    public void Publish_size_is_the_number_of_bytes_written(int payloadLength)
    {
        foreach (MqttProtocolVersion version in new[] { V3, V5 })
        {
            var publish = new PublishPacket
            {
                Topic = "sensors/é/temperature",
                Qos = QualityOfService.AtLeastOnce,
                PacketId = 5,
                Payload = TestSequenceSegment.SplitAt(new byte[payloadLength], payloadLength / 3, payloadLength / 2),
                Properties = new PublishProperties { UserProperties = [new("k", "v")], SubscriptionIdentifiers = [300] },
            };

            Assert.Equal(Codec.Encode(publish, version).Length, MqttEncoder.GetPublishSize(publish, version));
        }
    }

    [Fact]
    public void Output_that_hands_out_tiny_spans_gets_the_same_bytes()
    {
        foreach (Sample sample in SamplePackets.All)
        {
            var tiny = new TinySpanBufferWriter();
            Codec.Write(tiny, sample.Packet, sample.Version);

            Assert.Equal(Codec.Encode(sample.Packet, sample.Version), tiny.Written.ToArray());
        }
    }

    [Fact]
    public void String_longer_than_65535_bytes_cannot_be_encoded()
    {
        var publish = new PublishPacket { Topic = new string('a', 65_536) };

        Assert.Throws<ArgumentException>(() => Codec.Encode(publish, V3));
        Assert.Equal(1 + 3 + 2 + 65_535, Codec.Encode(new PublishPacket { Topic = new string('a', 65_535) }, V3).Length);
    }

    [Fact]
    public void Publish_at_qos_1_without_packet_id_cannot_be_encoded() =>
        Assert.Throws<ArgumentException>(() => Codec.Encode(new PublishPacket { Topic = "t", Qos = QualityOfService.AtLeastOnce }, V5));

    [Fact]
    public void Will_properties_skip_what_a_will_cannot_carry()
    {
        var connect = new ConnectPacket
        {
            ProtocolVersion = V5,
            ClientId = "c",
            Will = new WillMessage { Topic = "w", Properties = new PublishProperties { TopicAlias = 1, SubscriptionIdentifiers = [1], WillDelayInterval = 5 } },
        };

        WillMessage will = MqttDecoder.DecodeConnect(Frame(Codec.Encode(connect, V5))).Will!;

        Assert.Equal(5u, will.Properties!.WillDelayInterval);
        Assert.Null(will.Properties.TopicAlias);
        Assert.Null(will.Properties.SubscriptionIdentifiers);
    }

    /// <summary>Gives out spans exactly as large as asked (at least one byte), so fields land at span edges.</summary>
    private sealed class TinySpanBufferWriter : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();
        private byte[] _current = [];

        public ReadOnlySpan<byte> Written => _inner.WrittenSpan;

        public void Advance(int count) => _inner.Write(_current.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0) => _current = new byte[Math.Max(sizeHint, 1)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
