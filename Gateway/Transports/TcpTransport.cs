using System.Buffers;
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
/// between packets (≈ 1.5 KB), and reads and writes without a hand-off between the socket and the connection's code.
/// </summary>
public sealed class MqttTcpListener(IServiceProvider services, IOptions<GatewayOptions> options, ILogger<MqttTcpListener> logger)
{
    /// <summary>Connections waiting to be accepted (Kestrel's default).</summary>
    private const int Backlog = 512;

    private Socket? _socket;
    private Task? _accepting;
    private MqttConnectionHandler? _handler;
    private volatile bool _stopping;

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
        _accepting = AcceptLoopAsync(socket);
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

            accepted.NoDelay = true;
            ThreadPool.UnsafeQueueUserWorkItem(new SocketConnection(accepted, _handler!, logger), preferLocal: false);
        }
    }
}

/// <summary>
/// One accepted TCP connection as a Kestrel <see cref="ConnectionContext"/>. The input is read with a zero-byte read
/// first, so a buffer is taken from the pool only when bytes arrived, and given back once they are consumed; the
/// output writes to the socket when the connection flushes, and holds a buffer only while it has something to send.
/// It is also the work item that runs the connection, so starting one allocates nothing more.
/// </summary>
public sealed class SocketConnection : ConnectionContext, IDuplexPipe, IThreadPoolWorkItem
{
    /// <summary>What one read takes from the socket at most; a larger packet spans several reads.</summary>
    private const int ReadSize = 4096;

    /// <summary>Packets written between two flushes are sent in pieces of this size at most.</summary>
    private const int WriteSize = 16 * 1024;

    private readonly Socket _socket;
    private readonly MqttConnectionHandler _handler;
    private readonly ILogger _logger;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private CancellationTokenSource? _closed;
    private IFeatureCollection? _features;
    private IDictionary<object, object?>? _items;
    private string? _connectionId;
    private int _aborted;

    public SocketConnection(Socket socket, MqttConnectionHandler handler, ILogger logger)
    {
        _socket = socket;
        _handler = handler;
        _logger = logger;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(MemoryPool<byte>.Shared, ReadSize, ReadSize / 4, leaveOpen: true, useZeroByteReads: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(MemoryPool<byte>.Shared, WriteSize, leaveOpen: true));
    }

    public override string ConnectionId
    {
        get => _connectionId ??= "tcp-" + _socket.Handle;
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => _features ??= new FeatureCollection();

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
            await _handler.OnConnectedAsync(this);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "MQTT connection from {Remote} failed", RemoteEndPoint);
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
}
