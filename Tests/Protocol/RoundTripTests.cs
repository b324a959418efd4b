using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>Every packet shape survives encode, frame, decode unchanged, in every protocol version.</summary>
public class RoundTripTests
{
    public static TheoryData<string, MqttProtocolVersion> Samples()
    {
        var data = new TheoryData<string, MqttProtocolVersion>();
        foreach (Sample sample in SamplePackets.All)
        {
            data.Add(sample.Name, sample.Version);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Packet_decodes_to_what_was_encoded(string name, MqttProtocolVersion version)
    {
        Sample sample = SamplePackets.Get(name, version);
        byte[] bytes = Codec.Encode(sample.Packet, version);

        object decoded = Assert.Single(Codec.DecodeAll(new ReadOnlySequence<byte>(bytes), version, sample.ReceivedByClient));

        Equivalence.AssertEquivalent(sample.Packet, decoded);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Decoded_packet_encodes_to_the_same_bytes(string name, MqttProtocolVersion version)
    {
        Sample sample = SamplePackets.Get(name, version);
        byte[] bytes = Codec.Encode(sample.Packet, version);

        object decoded = Codec.DecodeAll(new ReadOnlySequence<byte>(bytes), version, sample.ReceivedByClient).Single();

        Assert.Equal(bytes, Codec.Encode(decoded, version));
    }

    [Fact]
    public void Connect_for_mqtt_3_1_carries_protocol_name_MQIsdp_and_level_3()
    {
        byte[] bytes = Codec.Encode(SamplePackets.Get("connect-minimal", MqttProtocolVersion.V310).Packet, MqttProtocolVersion.V310);

        Assert.Equal(Wire.Concat(Wire.Str("MQIsdp"), [3]), bytes[2..11]);
        Assert.Equal(MqttProtocolVersion.V310, MqttDecoder.DecodeConnect(Wire.Frame(bytes)).ProtocolVersion);
    }

    [Fact]
    public void Publish_payload_is_a_slice_of_the_input_not_a_copy()
    {
        byte[] bytes = Codec.Encode(new PublishPacket { Topic = "t", Payload = new ReadOnlySequence<byte>([1, 2, 3]) }, MqttProtocolVersion.V311);

        PublishPacket decoded = MqttDecoder.DecodePublish(Wire.Frame(bytes), MqttProtocolVersion.V311);

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(decoded.Payload.First, out ArraySegment<byte> segment));
        Assert.Same(bytes, segment.Array);
    }
}
