using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>The hot paths allocate nothing (framing, writing) or only the topic string (decoding PUBLISH).</summary>
public class AllocationTests
{
    private const int Iterations = 1_000;

    [Fact]
    public void Framing_allocates_nothing()
    {
        byte[] bytes = Codec.Encode(SamplePackets.Get("publish-all-properties", MqttProtocolVersion.V500).Packet, MqttProtocolVersion.V500);
        ReadOnlySequence<byte> single = new(bytes);
        ReadOnlySequence<byte> split = TestSequenceSegment.SplitAt(bytes, 1, 2, 10);

        long allocated = Measure(() =>
        {
            MqttFrameReader.TryRead(single, int.MaxValue, out _, out _);
            MqttFrameReader.TryRead(split, int.MaxValue, out _, out _);
        });

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Writing_a_publish_allocates_nothing()
    {
        var output = new ArrayBufferWriter<byte>(1 << 20);
        var publish = new PublishPacket
        {
            Topic = "sensors/42/temperature",
            Qos = QualityOfService.AtLeastOnce,
            PacketId = 9,
            Payload = new ReadOnlySequence<byte>(new byte[100]),
            Properties = new PublishProperties { UserProperties = [new("k", "v")], SubscriptionIdentifiers = [7] },
        };

        long allocated = Measure(() =>
        {
            output.ResetWrittenCount();
            MqttEncoder.WritePublish(output, publish, MqttProtocolVersion.V500);
        });

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Decoding_a_publish_without_properties_allocates_only_the_topic()
    {
        const string topic = "sensors/42/temperature";
        MqttFrame frame = Wire.Frame(Codec.Encode(new PublishPacket { Topic = topic, Qos = QualityOfService.AtLeastOnce, PacketId = 1 }, MqttProtocolVersion.V500));
        long topicSize = Measure(() => _ = new string('x', topic.Length));

        long allocated = Measure(() => MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V500));

        Assert.Equal(topicSize, allocated);
    }

    /// <summary>Bytes allocated by <see cref="Iterations"/> runs of <paramref name="action"/>, after a warm-up, divided per run.</summary>
    private static long Measure(Action action)
    {
        for (int i = 0; i < 100; i++)
        {
            action();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Iterations; i++)
        {
            action();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / Iterations;
    }
}
