using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>
/// A connection that repeats its topic gets the same string back without a new allocation, and the shortcut never
/// lets a different or invalid topic through.
/// </summary>
public class TopicNameCacheTests
{
    private static MqttFrame Frame(string topic, MqttProtocolVersion version = MqttProtocolVersion.V311, int qos = 1)
    {
        var output = new ArrayBufferWriter<byte>();
        MqttEncoder.WritePublish(output, new PublishPacket
        {
            Topic = topic,
            Qos = (QualityOfService)qos,
            PacketId = qos == 0 ? (ushort)0 : (ushort)9,
            Payload = new ReadOnlySequence<byte>("hello"u8.ToArray()),
        }, version);
        Assert.True(MqttFrameReader.TryRead(new ReadOnlySequence<byte>(output.WrittenSpan.ToArray()), int.MaxValue, out var frame, out _));
        return frame;
    }

    [Fact]
    public void A_repeated_topic_is_the_same_string_and_allocates_nothing()
    {
        var topics = new TopicNameCache();
        var frame = Frame("plant/7/line/2/temperature");

        var first = MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V311, topics);
        var second = MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V311, topics);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var third = MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V311, topics);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("plant/7/line/2/temperature", first.Topic);
        Assert.Same(first.Topic, second.Topic);
        Assert.Same(first.Topic, third.Topic);
        Assert.Equal(0, allocated);
        Assert.Equal("hello"u8.ToArray(), third.Payload.ToArray());
        Assert.Equal(9, third.PacketId);
    }

    [Fact]
    public void A_different_topic_of_the_same_length_is_decoded_afresh()
    {
        var topics = new TopicNameCache();
        var a = MqttDecoder.DecodePublish(Frame("room/1/temp"), MqttProtocolVersion.V311, topics);
        var b = MqttDecoder.DecodePublish(Frame("room/2/temp"), MqttProtocolVersion.V311, topics);
        var a2 = MqttDecoder.DecodePublish(Frame("room/1/temp"), MqttProtocolVersion.V311, topics);

        Assert.Equal("room/1/temp", a.Topic);
        Assert.Equal("room/2/temp", b.Topic);
        Assert.Equal("room/1/temp", a2.Topic);
        Assert.NotSame(a.Topic, a2.Topic);
    }

    [Fact]
    public void An_invalid_topic_after_a_cached_one_is_still_rejected()
    {
        var topics = new TopicNameCache();
        MqttDecoder.DecodePublish(Frame("room/1/temp"), MqttProtocolVersion.V311, topics);

        var error = Assert.Throws<MqttProtocolException>(() => MqttDecoder.DecodePublish(Frame("room/+/temp"), MqttProtocolVersion.V311, topics));
        Assert.Equal(ReasonCode.TopicNameInvalid, error.ReasonCode);
    }

    [Fact]
    public void Properties_after_a_cached_topic_are_read_in_v5()
    {
        var topics = new TopicNameCache();
        var output = new ArrayBufferWriter<byte>();
        MqttEncoder.WritePublish(output, new PublishPacket
        {
            Topic = "room/1/temp",
            Qos = QualityOfService.AtLeastOnce,
            PacketId = 3,
            Payload = new ReadOnlySequence<byte>("x"u8.ToArray()),
            Properties = new PublishProperties { ContentType = "text/plain" },
        }, MqttProtocolVersion.V500);
        Assert.True(MqttFrameReader.TryRead(new ReadOnlySequence<byte>(output.WrittenSpan.ToArray()), int.MaxValue, out var frame, out _));

        MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V500, topics);
        var again = MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V500, topics);

        Assert.Equal("text/plain", again.Properties?.ContentType);
        Assert.Equal(3, again.PacketId);
    }
}
