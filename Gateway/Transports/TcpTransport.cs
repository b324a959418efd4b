using System.Collections;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The MQTT over TCP listener (<c>Mqtt:Tcp</c>). Each accepted socket becomes a <see cref="SocketConnection"/> and is
/// handed to <see cref="MqttConnectionHandler"/>, like Kestrel's connections (TLS stays on Kestrel). It exists for what
/// an idle device costs: Kestrel's socket transport keeps two pipes, a send and a receive loop and their buffers'
/// bookkeeping per connection (≈ 4 KB), where this keeps the socket, a reader and a writer that hold no buffer
/// between packets (≈ 2 KB less), and reads and writes without a hand-off between the socket and the connection's code.
/// </summary>
public sealed class MqttTcpListener(IServiceProvider services, IOptions<GatewayOptions> options, ConnectionLimits limits, ILogger<MqttTcpListener> logger)
{
    /// <summary>Connections waiting to be accepted (Kestrel's default).</summary>
    private const int Backlog = 512;

    /// <summary>
    /// File descriptors left for everything else the process opens once it runs: Orleans' and storage connections,
    /// TLS and WebSocket connections, files. A process that runs out of them fails in any code that opens one.
    /// </summary>
    private const int DescriptorReserve = 128;

    private int _maxOpen = int.MaxValue;

    private Socket? _socket;
    private Task? _accepting;
    private MqttConnectionHandler? _handler;
    private volatile bool _stopping;
    private readonly Lock _gate = new();
    private int _open;
    private TaskCompletionSource? _drained;

    /// <summary>Where it listens, once started (the port the system chose when <c>Mqtt:Tcp:Port</c> is 0).</summary>
    public IPEndPoint? EndPoint { get; private set; }

    public void Start()
    {
        var tcp = options.Value.Tcp;
        var endPoint = new IPEndPoint(IPAddress.Parse(tcp.Address), tcp.Port);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A restarted broker takes its port back at once, even with connections of the previous one in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
            socket.Listen(Backlog);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"Mqtt:Tcp: cannot listen on {endPoint}: {ex.Message}", ex);
        }

        _handler = ActivatorUtilities.CreateInstance<MqttConnectionHandler>(services);
        _socket = socket;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
        if (DescriptorHeadroom() is var (limit, inUse, room) && room < (limits.Options.MaxConnections > 0 ? limits.Options.MaxConnections : int.MaxValue))
        {
            _maxOpen = room;
            logger.LogInformation(
                "The open-files limit of {Limit} ({InUse} in use) leaves room for {Room} MQTT over TCP connections, fewer than Mqtt:Limits:MaxConnections ({MaxConnections}): more are closed as they are accepted",
                limit, inUse, room, limits.Options.MaxConnections);
        }

        _accepting = AcceptLoopAsync(socket);
    }

    /// <summary>
    /// Completes when every accepted connection has ended, its code included (which tells the session how the
    /// connection ended): the gateway waits for this before its cluster client stops.
    /// </summary>
    public Task WhenDrained()
    {
        lock (_gate)
        {
            if (_open == 0)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    internal MqttConnectionHandler Handler => _handler!;

    internal ILogger Logger => logger;

    internal void Ended()
    {
        lock (_gate)
        {
            if (--_open == 0)
            {
                _drained?.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The soft open-files limit, the descriptors in use now, and how many connections fit beside them and the
    /// reserve; null where /proc does not say (not Linux) or there is no limit.
    /// </summary>
    private static (long Limit, int InUse, int Room)? DescriptorHeadroom()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is not { Length: > 0 } || !long.TryParse(fields[0], out var limit))
            {
                return null;
            }

            var inUse = Directory.EnumerateFileSystemEntries("/proc/self/fd").Count();
            return (limit, inUse, (int)Math.Clamp(limit - inUse - DescriptorReserve, 0, int.MaxValue));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>No more connections are accepted; the open ones carry on until they are closed.</summary>
    public async Task StopAcceptingAsync()
    {
        _stopping = true;
        _socket?.Dispose();
        if (_accepting is { } accepting)
        {
            await accepting;
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        // A failing accept (too many open files) is logged once per run of failures, not once per attempt.
        var failing = false;
        while (!_stopping)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync();
            }
            catch (Exception ex) when (_stopping && ex is ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (!failing)
                {
                    logger.LogWarning("Accepting MQTT connections on {EndPoint} fails: {Error}; retrying", EndPoint, ex.Message);
                    failing = true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50));
                continue;
            }

            if (failing)
            {
                logger.LogInformation("Accepting MQTT connections on {EndPoint} again", EndPoint);
                failing = false;
            }

            if (Volatile.Read(ref _open) >= _maxOpen)
            {
                // Refused at once, rather than accepted until the process has no descriptor left for anything.
                limits.Report(LimitNames.OpenFiles, $"{_maxOpen} TCP connections open, all the open-files limit leaves room for: a new one from {accepted.RemoteEndPoint} closed");
                accepted.Dispose();
                continue;
            }

            accepted.NoDelay = true;
            lock (_gate)
            {
                _open++;
            }

            ThreadPool.UnsafeQueueUserWorkItem(new SocketConnection(accepted, this), preferLocal: false);
        }
    }
}

/// <summary>
/// One accepted TCP connection as a Kestrel <see cref="ConnectionContext"/>, over <see cref="SocketPipeReader"/> and
/// <see cref="SocketPipeWriter"/>: buffers are rented only while bytes are on their way in or out. It is also the
/// work item that runs the connection, so starting one allocates nothing more.
/// </summary>
public sealed class SocketConnection : ConnectionContext, IDuplexPipe, IThreadPoolWorkItem
{
    private readonly Socket _socket;
    private readonly MqttTcpListener _listener;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private CancellationTokenSource? _closed;
    private FeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private string? _connectionId;
    private int _aborted;

    public SocketConnection(Socket socket, MqttTcpListener listener)
    {
        _socket = socket;
        _listener = listener;
        _input = new SocketPipeReader(socket);
        _output = new SocketPipeWriter(socket);
    }

    public override string ConnectionId
    {
        get => _connectionId ??= "tcp-" + _socket.Handle;
        set => _connectionId = value;
    }

    /// <summary>A plain TCP connection has no features (no TLS); a collection is created only when one is set.</summary>
    public override IFeatureCollection Features => (IFeatureCollection?)_features ?? new LazyFeatures(this);

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport
    {
        get => this;
        set => throw new NotSupportedException("The transport of a TCP connection is its socket.");
    }

    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output;

    public override EndPoint? RemoteEndPoint
    {
        get => _socket.RemoteEndPoint;
        set => throw new NotSupportedException();
    }

    public override EndPoint? LocalEndPoint
    {
        get => _socket.LocalEndPoint;
        set => throw new NotSupportedException();
    }

    /// <summary>Cancelled when the connection is aborted or has ended; the token source exists only once asked for.</summary>
    public override CancellationToken ConnectionClosed
    {
        get
        {
            if (_closed is null)
            {
                var created = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref _closed, created, null) is not null)
                {
                    created.Dispose();
                }
                else if (Volatile.Read(ref _aborted) != 0)
                {
                    created.Cancel();
                }
            }

            return _closed.Token;
        }
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Ends the connection now: the socket is shut down both ways, so a pending read ends and a pending send fails.
    /// The socket itself is closed once the connection's code has returned.
    /// </summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer.
        }

        CancelClosed();
    }

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            await _listener.Handler.OnConnectedAsync(this);
        }
        catch (Exception ex)
        {
            _listener.Logger.LogError(ex, "MQTT connection from {Remote} failed", RemoteEndPoint);
        }

        try
        {
            // What the connection wrote and did not flush still goes out, unless the connection was aborted.
            if (Volatile.Read(ref _aborted) == 0)
            {
                await _output.CompleteAsync();
                _socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went first.
        }

        // With an exception the writer drops what is left instead of writing it to a socket that is gone.
        _output.Complete(Aborted);
        _input.Complete();
        _socket.Dispose();
        Interlocked.Exchange(ref _aborted, 1);
        CancelClosed();
        _closed?.Dispose();
        _listener.Ended();
    }

    private static readonly ConnectionAbortedException Aborted = new("the connection has ended");

    private void CancelClosed()
    {
        try
        {
            Volatile.Read(ref _closed)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads as an empty collection; the first feature set creates the connection's own.</summary>
    private sealed class LazyFeatures(SocketConnection connection) : IFeatureCollection
    {
        private FeatureCollection Created => connection._features ??= new FeatureCollection();

        public bool IsReadOnly => false;

        public int Revision => connection._features?.Revision ?? 0;

        public object? this[Type key]
        {
            get => connection._features?[key];
            set => Created[key] = value;
        }

        public TFeature? Get<TFeature>() => connection._features is { } features ? features.Get<TFeature>() : default;

        public void Set<TFeature>(TFeature? instance) => Created.Set(instance);

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() =>
            (connection._features ?? Enumerable.Empty<KeyValuePair<Type, object>>()).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
