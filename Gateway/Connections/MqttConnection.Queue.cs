using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The outbound queue: what waits to be written to the client, bounded in messages (<c>Mqtt:MaxOutboundMessages</c>)
/// and bytes (<c>Mqtt:Limits:MaxOutboundBytes</c>). An idle connection holds no queue and no writer: the queue is
/// allocated by the first item and dropped when the writer has drained it, and the writer runs only while there is
/// something to write (on the thread pool, so that a grain's delivery never writes to a socket itself).
/// </summary>
public sealed partial class MqttConnection
{
    // Guards _queue, _spare, _writing, _writerAllowed, _queueCompleted. Items are encoded outside it.
    private readonly Lock _queueLock = new();
    private Queue<Outbound>? _queue;
    private bool _writing;
    private bool _writerAllowed;
    private bool _queueCompleted;
    private int _outboundCount;
    private long _outboundBytes;
    private TaskCompletionSource? _writerDone;

    /// <summary>Queues a packet that is not a delivery (acknowledgements, SUBACK, PINGRESP, DISCONNECT); false when closing.</summary>
    private bool TryEnqueue(in Outbound item)
    {
        bool start;
        lock (_queueLock)
        {
            if (_queueCompleted)
            {
                return false;
            }

            (_queue ??= new Queue<Outbound>()).Enqueue(item);
            start = _writerAllowed && !_writing;
            _writing |= start;
        }

        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static c => _ = c.WriteLoopAsync(), this, preferLocal: false);
        }

        return true;
    }

    /// <summary>
    /// Queues a delivery unless the client is too far behind: then the client is disconnected (v5: 0x97 Quota
    /// Exceeded) rather than letting the gateway's memory grow. A delivery always fits an empty queue, so a message
    /// larger than the byte bound still goes out.
    /// </summary>
    private void EnqueueDelivery(Delivery delivery)
    {
        var bytes = OutboundSize(delivery);
        var count = Interlocked.Increment(ref _outboundCount);
        var total = Interlocked.Add(ref _outboundBytes, bytes);
        string? limit = null;
        if (count > _services.Options.MaxOutboundMessages)
        {
            limit = LimitNames.OutboundMessages;
        }
        else if (count > 1 && total > Limits.Options.MaxOutboundBytes)
        {
            limit = LimitNames.OutboundBytes;
        }

        if (limit is not null || !TryEnqueue(Outbound.ForDelivery(delivery)))
        {
            Interlocked.Decrement(ref _outboundCount);
            Interlocked.Add(ref _outboundBytes, -bytes);
            if (limit is not null && Volatile.Read(ref _closeRequested) == 0)
            {
                Limits.Report(limit, $"client {ClientId} is not reading: {count} messages, {total} bytes wait for it");

                // Dropped: what waits is not written, only DISCONNECT (QoS 1/2 messages stay in flight in the
                // session and are sent again on the next connection).
                DropQueued();
                Close(ReasonCode.QuotaExceeded, "outbound queue full");
            }
        }
    }

    private void DropQueued()
    {
        lock (_queueLock)
        {
            if (_queue is { } queue)
            {
                foreach (var item in queue)
                {
                    if (item.Kind == OutboundKind.Delivery)
                    {
                        Grains.BrokerMetrics.MessageDropped(Grains.DropReason.SlowConsumer);
                        Interlocked.Decrement(ref _outboundCount);
                        Interlocked.Add(ref _outboundBytes, -OutboundSize(item.Delivery!));
                    }
                }

                queue.Clear();
            }
        }
    }

    /// <summary>What a queued delivery holds on to, roughly: its payload, its topic, and the objects around them.</summary>
    private static long OutboundSize(Delivery delivery) =>
        delivery.Message.Payload.Length + (2L * delivery.Message.Topic.Length) + 160;

    /// <summary>CONNACK is out: from now on the writer may run (deliveries that raced ahead of CONNACK waited).</summary>
    private void StartWriting()
    {
        bool start;
        lock (_queueLock)
        {
            _writerAllowed = true;
            start = _queue is { Count: > 0 } && !_writing;
            _writing |= start;
        }

        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static c => _ = c.WriteLoopAsync(), this, preferLocal: false);
        }
    }

    /// <summary>No more items are taken; what is queued is still written.</summary>
    private void CompleteQueue()
    {
        lock (_queueLock)
        {
            _queueCompleted = true;
        }
    }

    /// <summary>
    /// Waits for the writer to write what is queued, for at most <paramref name="patience"/>: a client that does not
    /// read (its socket buffers full) would hold the writer in FlushAsync for ever, so then the connection is aborted.
    /// </summary>
    private async Task StopWritingAsync(TimeSpan patience)
    {
        Task done;
        lock (_queueLock)
        {
            _queueCompleted = true;
            if (!_writing)
            {
                _queue = null;
                return;
            }

            _writerDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            done = _writerDone.Task;
        }

        if (await Task.WhenAny(done, Task.Delay(patience)) != done)
        {
            Logger.LogDebug("Connection {ConnectionId} ({ClientId}) did not take what was left to write: aborted", Id, ClientId);
            _context.Transport.Output.CancelPendingFlush();
            _context.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the client does not read"));
            await done;
        }
    }

    /// <summary>
    /// Takes everything queued at once (the queue is swapped with an empty one), or ends the writer when nothing is
    /// left, dropping the queue so that an idle connection holds none.
    /// </summary>
    private Queue<Outbound>? TakeQueued(Queue<Outbound>? drained)
    {
        lock (_queueLock)
        {
            if (_queue is not { Count: > 0 })
            {
                _queue = null;
                _writing = false;
                _writerDone?.TrySetResult();
                return null;
            }

            var taken = _queue;
            _queue = drained;
            return taken;
        }
    }

    /// <summary>The writer stopped for good (the pipe is closed): nothing more will be written.</summary>
    private void WriterFailed()
    {
        lock (_queueLock)
        {
            _queueCompleted = true;
            _queue = null;
            _writing = false;
            _writerDone?.TrySetResult();
        }
    }
}
