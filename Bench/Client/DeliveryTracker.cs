using System.Buffers;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// What one subscriber received, per publisher: a bit per sequence number, so losses, duplicates and reordering are
/// counted exactly, and the running count of deliveries that gives publishers their credit back.
/// Used by one connection's read loop only; the shared counters it updates are atomic.
/// </summary>
public sealed class DeliveryTracker : IPacketSink
{
    private readonly ulong[]?[] _seen;
    private readonly int[] _highest;
    private readonly int _messagesPerPublisher;
    private readonly long[] _deliveredPerPublisher;
    private readonly AsyncSignal[] _signals;
    private readonly bool[] _touched;
    private readonly List<int> _touchedList = [];
    private readonly long[]? _latencies;
    private readonly long _latencyFrom;

    /// <param name="deliveredPerPublisher">Shared by all subscribers: deliveries per publisher, the publishers' credit.</param>
    /// <param name="signals">One per publisher, set after a read that delivered some of its messages.</param>
    /// <param name="latencies">When given, each first delivery's latency in Stopwatch ticks is stored at its sequence number.</param>
    /// <param name="latencyFrom">Sequence numbers below this (the warm-up) are not stored in <paramref name="latencies"/>.</param>
    public DeliveryTracker(int publishers, int messagesPerPublisher, long[] deliveredPerPublisher, AsyncSignal[] signals, long[]? latencies = null, long latencyFrom = 0)
    {
        _seen = new ulong[publishers][];
        _highest = new int[publishers];
        Array.Fill(_highest, -1);
        _messagesPerPublisher = messagesPerPublisher;
        _deliveredPerPublisher = deliveredPerPublisher;
        _signals = signals;
        _touched = new bool[publishers];
        _latencies = latencies;
        _latencyFrom = latencyFrom;
    }

    public long Received { get; private set; }

    public long Unique { get; private set; }

    public long Duplicates { get; private set; }

    public long OutOfOrder { get; private set; }

    /// <summary>Payloads that were not a numbered benchmark message (wrong size, unknown publisher).</summary>
    public long Foreign { get; private set; }

    /// <summary>When the last first-time delivery arrived (Stopwatch ticks).</summary>
    public long LastUniqueAt { get; private set; }

    public void OnPublish(in ReadOnlySequence<byte> payload, long receivedAt)
    {
        Received++;
        if (!BenchPayload.TryRead(payload, out var publisher, out var sequence, out var sentAt) ||
            (uint)publisher >= (uint)_seen.Length || (uint)sequence >= (uint)_messagesPerPublisher)
        {
            Foreign++;
            return;
        }

        var bits = _seen[publisher] ??= new ulong[(_messagesPerPublisher + 63) / 64];
        ref var word = ref bits[sequence >> 6];
        var mask = 1UL << (sequence & 63);
        if ((word & mask) != 0)
        {
            Duplicates++;
            return;
        }

        word |= mask;
        Unique++;
        LastUniqueAt = receivedAt;
        if (sequence < _highest[publisher])
        {
            OutOfOrder++;
        }
        else
        {
            _highest[publisher] = sequence;
        }

        if (_latencies is not null && sequence >= _latencyFrom)
        {
            _latencies[sequence] = receivedAt - sentAt;
        }

        Interlocked.Increment(ref _deliveredPerPublisher[publisher]);
        if (!_touched[publisher])
        {
            _touched[publisher] = true;
            _touchedList.Add(publisher);
        }
    }

    public void OnAck(OrleansMqtt.Protocol.PacketType type)
    {
    }

    public void OnReadDone()
    {
        foreach (var publisher in _touchedList)
        {
            _touched[publisher] = false;
            _signals[publisher].Set();
        }

        _touchedList.Clear();
    }
}
