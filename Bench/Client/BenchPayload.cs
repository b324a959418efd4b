using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// Every message is numbered: the payload starts with the publisher's id, its sequence number and the send time
/// (<see cref="Stopwatch.GetTimestamp"/>, the client being one process), then padding to the requested size.
/// </summary>
public static class BenchPayload
{
    public const int HeaderSize = 16;

    public static void Write(Span<byte> payload, int publisher, int sequence, long sentAt)
    {
        BinaryPrimitives.WriteInt32LittleEndian(payload, publisher);
        BinaryPrimitives.WriteInt32LittleEndian(payload[4..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], sentAt);
    }

    public static bool TryRead(in ReadOnlySequence<byte> payload, out int publisher, out int sequence, out long sentAt)
    {
        publisher = sequence = 0;
        sentAt = 0;
        if (payload.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[HeaderSize];
        scoped ReadOnlySpan<byte> header = payload.FirstSpan;
        if (header.Length < HeaderSize)
        {
            payload.Slice(0, HeaderSize).CopyTo(copy);
            header = copy;
        }

        publisher = BinaryPrimitives.ReadInt32LittleEndian(header);
        sequence = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        sentAt = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        return true;
    }
}
