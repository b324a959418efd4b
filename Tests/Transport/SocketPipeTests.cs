using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using OrleansMqtt.Gateway;

namespace OrleansMqtt.Tests.Transport;

/// <summary>
/// The TCP connection's own reader and writer over a real socket pair: bytes arrive whole and in order however the
/// peer splits them, a partial packet waits for the rest, a pending read can be cancelled, the peer's close ends the
/// stream, and a reader with nothing left to consume holds no buffer.
/// </summary>
public sealed class SocketPipeTests : IAsyncLifetime, IDisposable
{
    private Socket _server = null!;
    private Socket _peer = null!;
    private SocketPipeReader _reader = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync();
        await _peer.ConnectAsync(listener.LocalEndPoint!);
        _server = await accepting;
        _reader = new SocketPipeReader(_server);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _reader.Complete();
        _server.Dispose();
        _peer.Dispose();
    }

    [Fact]
    public async Task Bytes_sent_in_pieces_are_read_whole_and_in_order_and_nothing_is_held_once_they_are_consumed()
    {
        var sent = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < sent.Length; offset += 7_777)
            {
                await _peer.SendAsync(sent.AsMemory(offset, Math.Min(7_777, sent.Length - offset)));
            }
        });

        // The reader consumes nothing until everything is there, as a frame reader does with a large packet.
        ReadResult result;
        while (true)
        {
            result = await _reader.ReadAsync();
            if (result.Buffer.Length >= sent.Length)
            {
                break;
            }

            _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        await sending;
        Assert.Equal(sent, result.Buffer.ToArray());
        Assert.True(_reader.HoldsBuffer);
        _reader.AdvanceTo(result.Buffer.End);
        Assert.False(_reader.HoldsBuffer);
    }

    [Fact]
    public async Task A_partly_consumed_buffer_keeps_the_rest_for_the_next_read()
    {
        await _peer.SendAsync("hello world"u8.ToArray());
        var first = await ReadAtLeastAsync(11);
        _reader.AdvanceTo(first.Buffer.GetPosition(6));

        await _peer.SendAsync("!"u8.ToArray());
        var second = await ReadAtLeastAsync(6);
        Assert.Equal("world!"u8.ToArray(), second.Buffer.ToArray());
        _reader.AdvanceTo(second.Buffer.End);
    }

    [Fact]
    public async Task A_pending_read_is_cancelled_at_once_and_what_arrives_afterwards_is_read_next()
    {
        // Nothing was sent: the read waits.
        var pending = _reader.ReadAsync().AsTask();
        Assert.False(pending.IsCompleted);

        _reader.CancelPendingRead();
        var cancelled = await pending.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(cancelled.IsCanceled);
        _reader.AdvanceTo(cancelled.Buffer.Start);

        await _peer.SendAsync("after"u8.ToArray());
        var next = await ReadAtLeastAsync(5);
        Assert.False(next.IsCanceled);
        Assert.Equal("after"u8.ToArray(), next.Buffer.ToArray());
        _reader.AdvanceTo(next.Buffer.End);
    }

    [Fact]
    public async Task The_peers_close_ends_the_stream_after_its_last_bytes()
    {
        await _peer.SendAsync("last"u8.ToArray());
        _peer.Shutdown(SocketShutdown.Send);

        var result = await _reader.ReadAsync();
        while (!result.IsCompleted)
        {
            _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await _reader.ReadAsync();
        }

        Assert.Equal("last"u8.ToArray(), result.Buffer.ToArray());
        _reader.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task Written_packets_go_out_whole_and_in_order_on_flush()
    {
        var writer = new SocketPipeWriter(_server);
        var expected = new List<byte>();
        for (var i = 0; i < 50; i++)
        {
            // Pieces of different sizes, several larger than a writer's buffer.
            var piece = Enumerable.Repeat((byte)i, 100 + (i * 997 % 20_000)).ToArray();
            piece.CopyTo(writer.GetSpan(piece.Length));
            writer.Advance(piece.Length);
            expected.AddRange(piece);
        }

        Assert.Equal(expected.Count, writer.UnflushedBytes);
        var receiving = ReceiveAsync(_peer, expected.Count);
        var flushed = await writer.FlushAsync();
        Assert.False(flushed.IsCanceled);
        Assert.Equal(0, writer.UnflushedBytes);
        Assert.Equal(expected, await receiving.WaitAsync(TimeSpan.FromSeconds(10)));
        writer.Complete();
    }

    private async Task<ReadResult> ReadAtLeastAsync(int count)
    {
        while (true)
        {
            var result = await _reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            if (result.Buffer.Length >= count)
            {
                return result;
            }

            _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static async Task<List<byte>> ReceiveAsync(Socket socket, int count)
    {
        var received = new List<byte>(count);
        var buffer = new byte[64 * 1024];
        while (received.Count < count)
        {
            var n = await socket.ReceiveAsync(buffer);
            Assert.True(n > 0, "the connection closed early");
            received.AddRange(buffer.AsSpan(0, n));
        }

        return received;
    }
}
