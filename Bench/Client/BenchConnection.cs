using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// One MQTT client connection over a raw socket and System.IO.Pipelines, written with the project's codec.
/// Built so that the client is not the bottleneck: packets are encoded straight into the pipe and flushed once per
/// batch, incoming PUBLISH packets are parsed in place (no topic string, no payload copy), and acknowledgements are
/// written by whichever side owns the writer, never per packet with a flush of their own.
/// </summary>
public sealed class BenchConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Lock _pendingLock = new();
    private readonly List<PacketIdAck> _pendingAcks = [];

    // From <linux/in.h>: the socket option level of IPv4 and the option.
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private BenchConnection(Socket socket, MqttProtocolVersion version)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024));
        Version = version;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public MqttProtocolVersion Version { get; }

    /// <summary>
    /// Set by the publishing side: acknowledgements the reader must send (PUBREL for a QoS 2 publisher) are queued for
    /// the publisher's writer instead of being written by the reader, since a pipe has one writer.
    /// </summary>
    public bool ReaderOwnsOutput { get; set; } = true;

    /// <summary>Fires after each read that handed something to the publishing side (acks to send, acks received).</summary>
    public AsyncSignal? AckSignal { get; set; }

    /// <summary>Opens a TCP connection (optionally from <paramref name="source"/>), sends CONNECT and waits for CONNACK.</summary>
    public static async Task<BenchConnection> ConnectAsync(
        IPEndPoint server, IPAddress? source, ConnectPacket connect, CancellationToken cancellationToken)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                if (OperatingSystem.IsLinux())
                {
                    // IP_BIND_ADDRESS_NO_PORT: pick the port at connect, not at bind. A bind to port 0 searches the
                    // ports already bound; with tens of thousands open each search costs more, and 100,000 idle
                    // connections spent more CPU in the client's kernel than in the broker (connects slowed from
                    // 600/s to 150/s). At connect the port only has to be unique for the destination.
                    socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                }

                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(server, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new BenchConnection(socket, connect.ProtocolVersion);
        try
        {
            MqttEncoder.WriteConnect(connection.Output, connect);
            await connection.Output.FlushAsync(cancellationToken);
            var frame = await connection.ReadControlFrameAsync(cancellationToken);
            if (frame.Type != PacketType.ConnAck)
            {
                throw new InvalidOperationException($"Expected CONNACK, got {frame.Type}");
            }

            var connAck = MqttDecoder.DecodeConnAck(frame, connect.ProtocolVersion);
            if (connAck.ReasonCode != ReasonCode.Success)
            {
                throw new InvalidOperationException($"CONNECT of {connect.ClientId} refused: {connAck.ReasonCode}");
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task SubscribeAsync(string filter, QualityOfService qos, CancellationToken cancellationToken)
    {
        MqttEncoder.WriteSubscribe(Output, new SubscribePacket { PacketId = 1, Subscriptions = [new TopicSubscription(filter, qos)] }, Version);
        await Output.FlushAsync(cancellationToken);
        var frame = await ReadControlFrameAsync(cancellationToken);
        if (frame.Type != PacketType.SubAck)
        {
            throw new InvalidOperationException($"Expected SUBACK, got {frame.Type}");
        }

        var subAck = MqttDecoder.DecodeSubAck(frame, Version);
        if ((byte)subAck.ReasonCodes[0] >= 0x80)
        {
            throw new InvalidOperationException($"SUBSCRIBE {filter} refused: {subAck.ReasonCodes[0]}");
        }
    }

    /// <summary>Queues an acknowledgement for the publisher's writer (see <see cref="ReaderOwnsOutput"/>).</summary>
    public void QueueAck(PacketIdAck ack)
    {
        lock (_pendingLock)
        {
            _pendingAcks.Add(ack);
        }
    }

    /// <summary>Writes the queued acknowledgements into <see cref="Output"/>; the caller owns the writer and flushes.</summary>
    public int WritePendingAcks()
    {
        lock (_pendingLock)
        {
            foreach (var ack in _pendingAcks)
            {
                MqttEncoder.WriteAck(Output, ack, Version);
            }

            var count = _pendingAcks.Count;
            _pendingAcks.Clear();
            return count;
        }
    }

    /// <summary>
    /// Reads packets until the broker closes the connection or <paramref name="cancellationToken"/> fires, and hands
    /// them to <paramref name="sink"/>. Answers PUBLISH (PUBACK or PUBREC) and PUBREL (PUBCOMP) itself when it owns the
    /// writer; with a publisher owning it, PUBREC is answered through <see cref="QueueAck"/>.
    /// </summary>
    public async Task ReadLoopAsync(IPacketSink sink, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await Input.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                var wrote = false;
                var signal = false;
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                while (MqttFrameReader.TryRead(buffer, int.MaxValue, out var frame, out var consumed))
                {
                    switch (frame.Type)
                    {
                        case PacketType.Publish:
                            var qos = (QualityOfService)((frame.Flags >> 1) & 3);
                            var packetId = PublishReader.Read(frame.Body, qos, Version, out var payload);
                            sink.OnPublish(payload, now);
                            if (qos != QualityOfService.AtMostOnce)
                            {
                                wrote |= Answer(new PacketIdAck(qos == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec, packetId), ref signal);
                            }

                            break;
                        case PacketType.PubRel:
                            wrote |= Answer(new PacketIdAck(PacketType.PubComp, PublishReader.ReadPacketId(frame.Body)), ref signal);
                            break;
                        case PacketType.PubRec:
                            wrote |= Answer(new PacketIdAck(PacketType.PubRel, PublishReader.ReadPacketId(frame.Body)), ref signal);
                            break;
                        case PacketType.PubAck:
                        case PacketType.PubComp:
                            sink.OnAck(frame.Type);
                            signal = true;
                            break;
                        case PacketType.Disconnect:
                            throw new InvalidOperationException("The broker sent DISCONNECT");
                    }

                    buffer = buffer.Slice(consumed);
                }

                Input.AdvanceTo(buffer.Start, buffer.End);
                sink.OnReadDone();
                if (wrote)
                {
                    await Output.FlushAsync(cancellationToken);
                }

                if (signal)
                {
                    AckSignal?.Set();
                }

                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Error = ex.GetType().Name + ": " + ex.Message;
            Log.Info($"read loop ended: {Error}");
        }
    }

    /// <summary>Why the read loop ended early, if it did.</summary>
    public string? Error { get; private set; }

    private bool Answer(PacketIdAck ack, ref bool signal)
    {
        if (ReaderOwnsOutput)
        {
            MqttEncoder.WriteAck(Output, ack, Version);
            return true;
        }

        QueueAck(ack);
        signal = true;
        return false;
    }

    /// <summary>DISCONNECT, then close.</summary>
    public async Task DisconnectAsync()
    {
        try
        {
            MqttEncoder.WriteDisconnect(Output, DisconnectPacket.Normal, Version);
            await Output.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync();
        await Output.CompleteAsync();
        _socket.Dispose();
    }

    /// <summary>The next packet, copied out of the pipe; only for the handshake (CONNACK, SUBACK).</summary>
    private async Task<MqttFrame> ReadControlFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (MqttFrameReader.TryRead(buffer, int.MaxValue, out var frame, out var consumed))
            {
                var copy = new MqttFrame(frame.Type, frame.Flags, new ReadOnlySequence<byte>(frame.Body.ToArray()));
                Input.AdvanceTo(consumed);
                return copy;
            }

            Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The broker closed the connection during the handshake");
            }
        }
    }
}

/// <summary>What a connection's read loop hands on.</summary>
public interface IPacketSink
{
    /// <summary>An application message; <paramref name="payload"/> is only valid during the call.</summary>
    void OnPublish(in ReadOnlySequence<byte> payload, long receivedAt);

    /// <summary>PUBACK or PUBCOMP: a publisher's message is complete.</summary>
    void OnAck(PacketType type);

    /// <summary>Every packet of one read has been handed on.</summary>
    void OnReadDone();
}
