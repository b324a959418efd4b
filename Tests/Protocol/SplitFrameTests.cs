using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>
/// A stream of packets decodes the same however the network cuts it into segments, and an incomplete packet is never
/// mistaken for a whole one.
/// </summary>
public class SplitFrameTests
{
    public static TheoryData<MqttProtocolVersion, bool> Streams() => new()
    {
        { MqttProtocolVersion.V500, false },
        { MqttProtocolVersion.V500, true },
        { MqttProtocolVersion.V311, false },
        { MqttProtocolVersion.V311, true },
        { MqttProtocolVersion.V310, false },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void Stream_split_in_two_at_any_byte_decodes_like_the_whole(MqttProtocolVersion version, bool receivedByClient)
    {
        byte[] stream = BuildStream(version, receivedByClient, out _);
        List<object> expected = Codec.DecodeAll(new ReadOnlySequence<byte>(stream), version, receivedByClient);

        for (int split = 1; split < stream.Length; split++)
        {
            List<object> actual = Codec.DecodeAll(TestSequenceSegment.SplitAt(stream, split), version, receivedByClient);
            Equivalence.AssertEquivalent(expected, actual, $"split at {split}");
        }
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void Stream_of_one_byte_segments_decodes_like_the_whole(MqttProtocolVersion version, bool receivedByClient)
    {
        byte[] stream = BuildStream(version, receivedByClient, out _);
        List<object> expected = Codec.DecodeAll(new ReadOnlySequence<byte>(stream), version, receivedByClient);

        List<object> actual = Codec.DecodeAll(TestSequenceSegment.OneBytePerSegment(stream), version, receivedByClient);

        Equivalence.AssertEquivalent(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void Every_strict_prefix_of_a_packet_is_incomplete(MqttProtocolVersion version, bool receivedByClient)
    {
        byte[] stream = BuildStream(version, receivedByClient, out List<int> boundaries);

        for (int i = 0; i + 1 < boundaries.Count; i++)
        {
            int start = boundaries[i];
            int end = boundaries[i + 1];
            for (int length = 0; length < end - start; length++)
            {
                // Fragmented, so the reader cannot rely on contiguous memory.
                ReadOnlySequence<byte> prefix = TestSequenceSegment.OneBytePerSegment(stream[start..(start + length)]);
                Assert.False(MqttFrameReader.TryRead(prefix, int.MaxValue, out _, out _), $"packet {i}, {length} of {end - start} bytes");
            }

            ReadOnlySequence<byte> rest = TestSequenceSegment.SplitAt(stream[start..], Math.Min(1, stream.Length - start - 1));
            Assert.True(MqttFrameReader.TryRead(rest, int.MaxValue, out _, out SequencePosition consumed));
            Assert.Equal(end - start, rest.Slice(0, consumed).Length);
        }
    }

    /// <summary>
    /// All samples of one version and direction, back to back, but for those over 1 KiB (the cost here is quadratic in
    /// packet size); <paramref name="boundaries"/> holds each packet's start and the end.
    /// </summary>
    private static byte[] BuildStream(MqttProtocolVersion version, bool receivedByClient, out List<int> boundaries)
    {
        var output = new ArrayBufferWriter<byte>();
        boundaries = [0];
        foreach (Sample sample in SamplePackets.All.Where(s => s.Version == version && s.ReceivedByClient == receivedByClient))
        {
            if (Codec.Encode(sample.Packet, version).Length <= 1024)
            {
                Codec.Write(output, sample.Packet, version);
                boundaries.Add(output.WrittenCount);
            }
        }

        return output.WrittenSpan.ToArray();
    }
}
