using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace OrleansMqtt.Gateway;

/// <summary>A run of bytes in a pooled array, linked into the sequence a pipe hands out.</summary>
internal sealed class PooledSegment : ReadOnlySequenceSegment<byte>
{
    public PooledSegment(int size, PooledSegment? previous)
    {
        Array = ArrayPool<byte>.Shared.Rent(size);
        if (previous is not null)
        {
            RunningIndex = previous.RunningIndex + previous.End;
            previous.Next = this;
        }
    }

    public byte[] Array { get; }

    /// <summary>Bytes of <see cref="Array"/> in use.</summary>
    public int End { get; private set; }

    public int Free => Array.Length - End;

    public Memory<byte> FreeMemory => Array.AsMemory(End);

    public void Grow(int count)
    {
        End += count;
        Memory = Array.AsMemory(0, End);
    }

    public void Release() => ArrayPool<byte>.Shared.Return(Array);
}

/// <summary>
/// The reading side of a TCP connection. With nothing buffered it waits with a zero-byte receive, so an idle
/// connection holds no buffer; a buffer is rented when bytes arrive and returned once the reader consumed them. It
/// is its own awaitable, so a pending read allocates nothing, and the read's continuation runs on the socket's
/// completion, outside the reader's lock. Reads take no token: <see cref="CancelPendingRead"/> ends a pending read at
/// once (a receive already posted stays posted, and what it brings is kept for the next read).
/// </summary>
internal sealed class SocketPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>What one receive takes from the socket at most; a larger packet spans several.</summary>
    private const int ReadSize = 16 * 1024;

    /// <summary>A receive into less free space than this takes a new buffer.</summary>
    private const int MinimumReadSize = 2 * 1024;

    private readonly Socket _socket;
    private readonly Action _onReceived;
    private ManualResetValueTaskSourceCore<ReadResult> _waiter = new() { RunContinuationsAsynchronously = false };
    private PooledSegment? _head;
    private PooledSegment? _tail;
    private int _headIndex;
    private ValueTask<int> _receive;
    private bool _receiving;
    private bool _zeroByteReceive;

    // A zero-byte receive completed: the socket has bytes (or its end) for the next receive.
    private bool _readable;
    private bool _waiting;
    private bool _examinedAll;
    private bool _cancelRequested;
    private bool _ended;
    private bool _completed;
    private Exception? _error;

    public SocketPipeReader(Socket socket)
    {
        _socket = socket;
        _onReceived = OnReceived;
    }

    // The reader itself is the lock (a thin lock in its header: nothing allocated); nothing else locks on it.
    private object Gate => this;

    private bool HasData => _head is not null && (_head != _tail || _headIndex < _tail!.End);

    /// <summary>Whether the reader holds a buffer (an idle connection's reader holds none).</summary>
    internal bool HoldsBuffer
    {
        get
        {
            lock (Gate)
            {
                return _head is not null;
            }
        }
    }

    private ReadOnlySequence<byte> Buffer => _head is null ? default : new ReadOnlySequence<byte>(_head, _headIndex, _tail!, _tail!.End);

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.CanBeCanceled)
        {
            throw new NotSupportedException("A TCP connection's reader is stopped with CancelPendingRead, not a token.");
        }

        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (TryAnswer(out var result, out var error) || (!_receiving && Pump(out result, out error)))
            {
                return error is null ? new ValueTask<ReadResult>(result) : ValueTask.FromException<ReadResult>(error);
            }

            _waiter.Reset();
            _waiting = true;
            return new ValueTask<ReadResult>(this, _waiter.Version);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (TryAnswer(out result, out var error))
            {
                return error is null ? true : throw error;
            }

            return false;
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (Gate)
        {
            if (_head is null)
            {
                return;
            }

            // Examined to the end: the next read waits for more bytes rather than handing out the same ones.
            _examinedAll = examined.GetObject() == _tail && examined.GetInteger() == _tail!.End;
            if (consumed.GetObject() is PooledSegment segment)
            {
                while (_head != segment)
                {
                    var done = _head!;
                    _head = (PooledSegment?)done.Next;
                    done.Release();
                }

                _headIndex = consumed.GetInteger();
            }

            if (!HasData && !_receiving)
            {
                // Everything consumed: the buffer goes back, so that a quiet connection holds none.
                ReleaseBuffers();
            }
        }
    }

    public override void CancelPendingRead()
    {
        ReadResult result;
        lock (Gate)
        {
            _cancelRequested = true;
            if (!_waiting || !TryAnswer(out result, out _))
            {
                return;
            }

            _waiting = false;
        }

        // The read's continuation runs on the thread pool, not on the caller's thread: whoever stops a connection
        // (a take-over, the shutdown, the connection's own writer) may hold locks the read loop takes next.
        ThreadPool.UnsafeQueueUserWorkItem(static answer => answer.Reader._waiter.SetResult(answer.Result), (Reader: this, Result: result), preferLocal: false);
    }

    public override void Complete(Exception? exception = null)
    {
        lock (Gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;

            // A receive still posted writes into the tail's array: that one is left to the garbage collector.
            for (var segment = _head; segment is not null; segment = (PooledSegment?)segment.Next)
            {
                if (segment != _tail || !_receiving)
                {
                    segment.Release();
                }
            }

            _head = _tail = null;
        }
    }

    /// <summary>What a read gets now without the socket: a cancellation, unexamined bytes, the end, or the failure.</summary>
    private bool TryAnswer(out ReadResult result, out Exception? error)
    {
        error = null;
        if (_cancelRequested)
        {
            _cancelRequested = false;
            result = new ReadResult(Buffer, isCanceled: true, isCompleted: false);
            return true;
        }

        if ((HasData && !_examinedAll) || _ended)
        {
            result = new ReadResult(Buffer, isCanceled: false, isCompleted: _ended);
            return true;
        }

        result = default;
        error = _error;
        return error is not null;
    }

    /// <summary>
    /// Posts receives until one is pending (false: the continuation answers the waiting read) or there is an answer
    /// (true). With nothing buffered the receive is a zero-byte one. Called under the lock.
    /// </summary>
    private bool Pump(out ReadResult result, out Exception? error)
    {
        while (true)
        {
            _zeroByteReceive = !HasData && !_readable;
            Memory<byte> target;
            if (_zeroByteReceive)
            {
                ReleaseBuffers();
                target = Memory<byte>.Empty;
            }
            else
            {
                if (_tail is null)
                {
                    // Bytes are there (or the end is): now a buffer is worth renting.
                    _head = _tail = new PooledSegment(ReadSize, null);
                    _headIndex = 0;
                }
                else if (_tail.Free < MinimumReadSize)
                {
                    _tail = new PooledSegment(ReadSize, _tail);
                }

                target = _tail.FreeMemory;
            }

            // The receive is kept in a field and consumed exactly once, by Take, when it has completed.
#pragma warning disable CA2012
            try
            {
                _receive = _socket.ReceiveAsync(target, SocketFlags.None);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                _receive = ValueTask.FromException<int>(ex);
            }
#pragma warning restore CA2012

            _receiving = true;
            if (!_receive.IsCompleted)
            {
                _receive.GetAwaiter().UnsafeOnCompleted(_onReceived);
                result = default;
                error = null;
                return false;
            }

            Take();
            if (TryAnswer(out result, out error))
            {
                return true;
            }
        }
    }

    /// <summary>The socket's receive completed: its bytes, the end or the failure go into the state. Under the lock.</summary>
    private void Take()
    {
        _receiving = false;
        int count;
        try
        {
            count = _receive.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            _error = ex;
            return;
        }
        finally
        {
            _receive = default;
        }

        _readable = _zeroByteReceive;
        if (_zeroByteReceive)
        {
            return;
        }

        if (count > 0)
        {
            _tail!.Grow(count);
            _examinedAll = false;
        }
        else
        {
            _ended = true;
        }
    }

    private void OnReceived()
    {
        ReadResult result;
        Exception? error;
        lock (Gate)
        {
            if (_completed)
            {
                _receiving = false;
                return;
            }

            Take();
            if (!_waiting)
            {
                // The read was cancelled meanwhile: what came stays for the next one.
                return;
            }

            if (!TryAnswer(out result, out error) && !Pump(out result, out error))
            {
                return;
            }

            _waiting = false;
        }

        if (error is null)
        {
            _waiter.SetResult(result);
        }
        else
        {
            _waiter.SetException(error);
        }
    }

    private void ReleaseBuffers()
    {
        for (var segment = _head; segment is not null; segment = (PooledSegment?)segment.Next)
        {
            segment.Release();
        }

        _head = _tail = null;
        _headIndex = 0;
        _examinedAll = false;
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// The writing side of a TCP connection: packets are written into pooled buffers, and a flush sends them with a
/// pooled sender and gives the buffers back, so a connection between two flushes holds nothing. Single writer, as
/// for any pipe.
/// </summary>
internal sealed class SocketPipeWriter(Socket socket) : PipeWriter
{
    /// <summary>Packets written between two flushes go out in sends of this size at most.</summary>
    private const int SegmentSize = 16 * 1024;

    private PooledSegment? _head;
    private PooledSegment? _tail;
    private long _unflushed;
    private bool _cancelRequested;
    private bool _completed;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _unflushed;

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).FreeMemory;

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).FreeMemory.Span;

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_tail is null || bytes > _tail.Free)
        {
            throw new InvalidOperationException("Advanced past the memory handed out.");
        }

        _tail.Grow(bytes);
        _unflushed += bytes;
    }

    public override void CancelPendingFlush() => Volatile.Write(ref _cancelRequested, true);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (Volatile.Read(ref _cancelRequested))
        {
            _cancelRequested = false;
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
        }

        if (_head is null)
        {
            return default;
        }

        // Most flushes are one buffer that the socket takes at once: no state machine then.
        var first = SocketSender.SendAsync(socket, _head.Memory);
        if (first.IsCompletedSuccessfully && _head.Next is null)
        {
            ReleaseAll();
            return default;
        }

        return SendRestAsync(first);
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        try
        {
            // What was written and not flushed still goes out, unless the connection failed.
            for (var segment = _head; exception is null && segment is not null; segment = (PooledSegment?)segment.Next)
            {
                var remaining = segment.Memory.Span;
                while (!remaining.IsEmpty)
                {
                    remaining = remaining[socket.Send(remaining, SocketFlags.None)..];
                }
            }
        }
        finally
        {
            ReleaseAll();
        }
    }

    private PooledSegment Reserve(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = Math.Max(sizeHint, 1);
        if (_tail is null)
        {
            _head = _tail = new PooledSegment(Math.Max(SegmentSize, needed), null);
        }
        else if (_tail.Free < needed)
        {
            _tail = new PooledSegment(Math.Max(SegmentSize, needed), _tail);
        }

        return _tail;
    }

    /// <summary>
    /// Waits for the first buffer's send, then sends the others. Nothing is written meanwhile (one writer, which
    /// waits for its flush), so every buffer goes back afterwards.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> SendRestAsync(ValueTask first)
    {
        try
        {
            await first;
            for (var segment = (PooledSegment?)_head!.Next; segment is not null; segment = (PooledSegment?)segment.Next)
            {
                await SocketSender.SendAsync(socket, segment.Memory);
            }
        }
        finally
        {
            ReleaseAll();
        }

        return default;
    }

    private void ReleaseAll()
    {
        for (var segment = _head; segment is not null; segment = (PooledSegment?)segment.Next)
        {
            segment.Release();
        }

        _head = _tail = null;
        _unflushed = 0;
    }
}

/// <summary>A send in progress. Pooled: a connection holds one only while a write is on its way.</summary>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource
{
    private static readonly ConcurrentQueue<SocketSender> Pool = new();
    private static readonly int MaxPooled = Environment.ProcessorCount * 64;
    private static int _pooled;

    private ManualResetValueTaskSourceCore<bool> _completion = new() { RunContinuationsAsynchronously = false };

    private SocketSender()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    public static ValueTask SendAsync(Socket socket, ReadOnlyMemory<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        var sender = Rent();
        sender._completion.Reset();
        sender.SetBuffer(MemoryMarshal.AsMemory(buffer));
        if (socket.SendAsync(sender))
        {
            return new ValueTask(sender, sender._completion.Version);
        }

        // Done at once, as most sends are: the sender goes back before anyone waits on it.
        var error = sender.SocketError;
        sender.Return();
        return error == SocketError.Success ? ValueTask.CompletedTask : ValueTask.FromException(new SocketException((int)error));
    }

    protected override void OnCompleted(SocketAsyncEventArgs e) => _completion.SetResult(true);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token)
    {
        _completion.GetResult(token);
        var error = SocketError;
        Return();
        if (error != SocketError.Success)
        {
            throw new SocketException((int)error);
        }
    }

    private static SocketSender Rent()
    {
        if (Pool.TryDequeue(out var sender))
        {
            Interlocked.Decrement(ref _pooled);
            return sender;
        }

        return new SocketSender();
    }

    private void Return()
    {
        SetBuffer(Memory<byte>.Empty);
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
            Dispose();
        }
    }
}
