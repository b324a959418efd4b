using System.Buffers;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a socket pipe delivers them.</summary>
internal sealed class TestSequenceSegment : ReadOnlySequenceSegment<byte>
{
    private TestSequenceSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>One segment per part; each part is copied into its own array so no two segments share memory.</summary>
    public static ReadOnlySequence<byte> Create(IEnumerable<byte[]> parts)
    {
        TestSequenceSegment? first = null;
        TestSequenceSegment? last = null;
        foreach (byte[] part in parts)
        {
            var segment = new TestSequenceSegment(part.ToArray(), last is null ? 0 : last.RunningIndex + last.Memory.Length);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Next = segment;
            }

            last = segment;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    /// <summary>Cuts <paramref name="data"/> at each of the ascending <paramref name="positions"/>.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] data, params int[] positions)
    {
        var parts = new List<byte[]>();
        int start = 0;
        foreach (int position in positions.Append(data.Length))
        {
            parts.Add(data[start..position]);
            start = position;
        }

        return Create(parts);
    }

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data) => Create(data.Select(b => new[] { b }));
}
