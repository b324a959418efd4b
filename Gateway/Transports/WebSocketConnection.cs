using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OrleansMqtt.Gateway;

/// <summary>
/// An accepted WebSocket seen as a Kestrel connection, so MQTT over WebSocket runs the very code MQTT over TCP runs.
/// Binary messages in are bytes of the MQTT stream, whatever their boundaries [MQTT-6.0.0-2]; each flush of the
/// output goes out as one binary message. A text message is a protocol violation and closes the connection [MQTT-6.0.0-1].
/// </summary>
public sealed class WebSocketConnection : ConnectionContext
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly Pipe _input = new();
    private readonly Pipe _output = new();
    private readonly CancellationTokenSource _aborted = new();

    public WebSocketConnection(WebSocket socket, HttpContext http)
    {
        _socket = socket;
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        ConnectionId = "ws-" + http.Connection.Id;
        if (http.Features.Get<ITlsConnectionFeature>() is { } tls)
        {
            Features.Set(tls);
        }

        RemoteEndPoint = http.Connection.RemoteIpAddress is { } remote ? new IPEndPoint(remote, http.Connection.RemotePort) : null;
        LocalEndPoint = http.Connection.LocalIpAddress is { } local ? new IPEndPoint(local, http.Connection.LocalPort) : null;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed => _aborted.Token;

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _aborted.Cancel();
        _socket.Abort();
    }

    /// <summary>Pumps both ways while <paramref name="application"/> runs; closes the WebSocket when it returns.</summary>
    public async Task RunAsync(Func<ConnectionContext, Task> application)
    {
        var receiving = ReceiveAsync();
        var sending = SendAsync();
        try
        {
            await application(this);
        }
        finally
        {
            // What the application wrote is sent, then a close frame; the client has a moment to answer it.
            await _output.Writer.CompleteAsync();
            await sending;
            if (await Task.WhenAny(receiving, Task.Delay(CloseTimeout)) != receiving)
            {
                _socket.Abort();
            }

            await receiving;
            await _input.Reader.CompleteAsync();
            _aborted.Dispose();
        }
    }

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(4096);
                var result = await _socket.ReceiveAsync(memory, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (result.MessageType == WebSocketMessageType.Text)
                {
                    error = new ConnectionAbortedException("a text WebSocket message; MQTT goes in binary messages [MQTT-6.0.0-1]");
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.InvalidMessageType, "MQTT needs binary messages", CancellationToken.None);
                    break;
                }

                writer.Advance(result.Count);
                var flushed = await writer.FlushAsync();
                if (flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away without a close frame: to the MQTT connection, a reset.
            error = new ConnectionResetException(ex.Message, ex);
        }

        await writer.CompleteAsync(error);
    }

    private async Task SendAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                var position = buffer.Start;
                while (buffer.TryGet(ref position, out var segment))
                {
                    var last = position.GetObject() is null;
                    await _socket.SendAsync(segment, WebSocketMessageType.Binary, last, CancellationToken.None);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client is gone: stop reading too, so the MQTT connection ends.
            _socket.Abort();
        }

        await reader.CompleteAsync();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
