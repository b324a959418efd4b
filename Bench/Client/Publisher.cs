using System.Buffers;
using System.Diagnostics;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// Publishes numbered messages on one connection as fast as two windows allow: at most <c>window</c> messages not
/// yet seen by every subscriber (end-to-end credit, so a broker is measured at the rate it sustains rather than
/// buried under a queue), and at QoS 1/2 at most <c>inflight</c> messages not yet acknowledged. Everything that fits
/// is written in one go and flushed once.
/// </summary>
public sealed class Publisher : IPacketSink
{
    private readonly BenchConnection _connection;
    private readonly byte[] _payload;
    private readonly string _topic;
    private readonly QualityOfService _qos;
    private readonly long[] _deliveredPerPublisher;
    private long _completed;
    private long _givenUp;

    public Publisher(int id, BenchConnection connection, string topic, QualityOfService qos, int payloadSize, long[] deliveredPerPublisher, AsyncSignal signal)
    {
        Id = id;
        _connection = connection;
        _topic = topic;
        _qos = qos;
        _payload = new byte[Math.Max(payloadSize, BenchPayload.HeaderSize)];
        _deliveredPerPublisher = deliveredPerPublisher;
        Signal = signal;
        connection.ReaderOwnsOutput = false;
        connection.AckSignal = signal;
    }

    public int Id { get; }

    public AsyncSignal Signal { get; }

    public int Sent { get; private set; }

    /// <summary>QoS 1: PUBACKs received; QoS 2: PUBCOMPs received.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Set when the broker stopped acknowledging (no progress for the stall timeout): the publisher gave up.</summary>
    public bool Stalled { get; private set; }

    /// <summary>Deliveries written off after a stall at QoS 0, so that one lost message does not stop the run.</summary>
    public long GivenUp => _givenUp;

    /// <summary>When the last message was written (Stopwatch ticks).</summary>
    public long LastSentAt { get; private set; }

    public BenchConnection Connection => _connection;

    /// <param name="count">Messages to send.</param>
    /// <param name="receivers">Subscribers that get each message.</param>
    /// <param name="window">Messages per subscriber not yet delivered.</param>
    /// <param name="inflight">Messages not yet acknowledged (QoS 1/2).</param>
    public async Task RunAsync(int count, int receivers, int window, int inflight, long deadline, TimeSpan stallTimeout, CancellationToken cancellationToken)
    {
        var output = _connection.Output;
        long lastProgress = Stopwatch.GetTimestamp();
        long lastSeen = -1;
        while (Sent < count && Stopwatch.GetTimestamp() < deadline)
        {
            var wake = Signal.WaitTask();
            var acksWritten = _connection.WritePendingAcks();
            var delivered = Interlocked.Read(ref _deliveredPerPublisher[Id]);
            var outstanding = ((long)Sent * receivers) - delivered - _givenUp;
            long credit = Math.Min(count - Sent, ((long)window * receivers - outstanding) / receivers);
            if (_qos != QualityOfService.AtMostOnce)
            {
                credit = Math.Min(credit, inflight - (Sent - Completed));
            }

            if (credit <= 0)
            {
                if (acksWritten > 0)
                {
                    await output.FlushAsync(cancellationToken);
                }

                var progress = delivered + Completed;
                if (progress != lastSeen)
                {
                    lastSeen = progress;
                    lastProgress = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(lastProgress) > stallTimeout)
                {
                    if (_qos != QualityOfService.AtMostOnce && Sent - Completed >= inflight)
                    {
                        Stalled = true;
                        return;
                    }

                    // QoS 0 messages may be lost; they are counted as lost at the end, not waited for.
                    _givenUp += outstanding;
                    lastProgress = Stopwatch.GetTimestamp();
                    continue;
                }

                await wake.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < credit; i++)
            {
                WritePublish(output, Sent, now);
                Sent++;
            }

            LastSentAt = now;
            await output.FlushAsync(cancellationToken);
        }

        // A QoS 2 publisher still owes PUBRELs for the PUBRECs that arrive after its last PUBLISH.
        while (_qos == QualityOfService.ExactlyOnce && Completed < Sent && Stopwatch.GetElapsedTime(lastProgress) < stallTimeout)
        {
            var wake = Signal.WaitTask();
            if (_connection.WritePendingAcks() > 0)
            {
                await output.FlushAsync(cancellationToken);
                lastProgress = Stopwatch.GetTimestamp();
            }

            await wake.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Writes message <paramref name="sequence"/> into the pipe without flushing.</summary>
    public void WritePublish(IBufferWriter<byte> output, int sequence, long sentAt)
    {
        BenchPayload.Write(_payload, Id, sequence, sentAt);
        MqttEncoder.WritePublish(output, new PublishPacket
        {
            Topic = _topic,
            Qos = _qos,
            PacketId = _qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)((sequence % 65535) + 1),
            Payload = new ReadOnlySequence<byte>(_payload),
        }, _connection.Version);
    }

    public void OnPublish(in ReadOnlySequence<byte> payload, long receivedAt)
    {
    }

    public void OnAck(PacketType type) => Interlocked.Increment(ref _completed);

    public void OnReadDone()
    {
    }
}
