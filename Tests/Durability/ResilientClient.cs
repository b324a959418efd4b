using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// An MQTT 5 client that keeps its session state across connections as the specification asks of a client with a
/// persistent session, and reconnects (to the next gateway in its list) whenever the connection ends:
/// <list type="bullet">
/// <item>publishing, it resends an unacknowledged PUBLISH with DUP under the same packet id, or the PUBREL once PUBREC came;</item>
/// <item>receiving QoS 2, it keeps the packet ids it passed on until PUBREL, and does not pass on a resent copy (4.3.3).</item>
/// </list>
/// Library clients forget that state when a connection drops, so they cannot show exactly-once across a crash.
/// </summary>
public sealed class ResilientClient : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectPatience = TimeSpan.FromSeconds(60);

    private readonly string _clientId;
    private readonly int[] _ports;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly HashSet<ushort> _receivedAwaitingRelease = [];
    private readonly Channel<PacketIdAck> _acks = Channel.CreateUnbounded<PacketIdAck>();
    private readonly Channel<string> _received = Channel.CreateUnbounded<string>();
    private readonly Lock _lock = new();
    private Connection? _connection;
    private Task _supervisor = Task.CompletedTask;
    private int _nextPort;
    private ushort _lastPacketId;

    private ResilientClient(string clientId, int[] ports)
    {
        _clientId = clientId;
        _ports = ports;
    }

    /// <summary>Connections made after the first one.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Reconnects that found no session (it would have lost state).</summary>
    public int SessionsLost { get; private set; }

    /// <summary>Connection events, for failure messages.</summary>
    public ConcurrentQueue<string> Events { get; } = new();

    /// <summary>Payloads passed on to the application, in order, duplicates included.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>
    /// Connects with a new session (expiry 10 minutes), subscribes when <paramref name="filter"/> is given, and keeps
    /// reconnecting until disposed. <paramref name="ports"/> are gateway ports, tried in turn.
    /// </summary>
    public static async Task<ResilientClient> StartAsync(string clientId, int[] ports, string? filter = null, QualityOfService qos = QualityOfService.ExactlyOnce)
    {
        var client = new ResilientClient(clientId, ports);
        var connection = await client.ConnectAsync(cleanStart: true);
        if (filter is not null)
        {
            await connection.WriteAsync(w => MqttEncoder.WriteSubscribe(w, new SubscribePacket { PacketId = client.NextPacketId(), Subscriptions = [new TopicSubscription(filter, qos)] }, MqttProtocolVersion.V500));
            var ack = await client._acks.Reader.ReadAsync(new CancellationTokenSource(TestClient.Patience).Token);
            Assert.Equal(PacketType.SubAck, ack.Type);
        }

        client._supervisor = client.SuperviseAsync();
        return client;
    }

    /// <summary>
    /// Publishes one message and returns once the broker acknowledged it (PUBACK, or PUBCOMP for QoS 2), resending
    /// across reconnects as needed.
    /// </summary>
    public async Task PublishAsync(string topic, string payload, QualityOfService qos)
    {
        var packetId = NextPacketId();
        var released = false;
        var dup = false;
        var deadline = DateTime.UtcNow + ReconnectPatience;
        while (true)
        {
            var connection = await CurrentAsync(deadline);
            try
            {
                if (!released)
                {
                    var packet = new PublishPacket { Topic = topic, Payload = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)), Qos = qos, PacketId = packetId, Dup = dup };
                    await connection.WriteAsync(w => MqttEncoder.WritePublish(w, packet, MqttProtocolVersion.V500));
                    dup = true;
                    var ack = await AwaitAckAsync(connection, packetId, qos == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec, deadline);
                    if (ack is null)
                    {
                        continue;
                    }

                    Assert.True((byte)ack.Value.ReasonCode < 0x80, $"{payload} was refused: {ack.Value.ReasonCode}");
                    if (qos == QualityOfService.AtLeastOnce)
                    {
                        return;
                    }

                    released = true;
                }

                await connection.WriteAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRel, packetId), MqttProtocolVersion.V500));
                if (await AwaitAckAsync(connection, packetId, PacketType.PubComp, deadline) is not null)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // The connection ended: resend on the next one.
            }
        }
    }

    /// <summary>Waits until every payload of <paramref name="expected"/> has been received.</summary>
    public async Task WaitForAllAsync(IReadOnlyCollection<string> expected, TimeSpan patience)
    {
        var missing = new HashSet<string>(expected);
        foreach (var seen in Received)
        {
            missing.Remove(seen);
        }

        using var timeout = new CancellationTokenSource(patience);
        try
        {
            while (missing.Count > 0)
            {
                missing.Remove(await _received.Reader.ReadAsync(timeout.Token));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_clientId} did not receive {missing.Count} of {expected.Count} acknowledged messages within {patience.TotalSeconds} s, e.g. {string.Join(", ", missing.Take(10))} (reconnects: {Reconnects})");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Connection? connection;
        lock (_lock)
        {
            connection = _connection;
        }

        if (connection is not null)
        {
            try
            {
                await connection.WriteAsync(w => MqttEncoder.WriteDisconnect(w, DisconnectPacket.Normal, MqttProtocolVersion.V500));
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }

            connection.Dispose();
        }

        try
        {
            await _supervisor;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ushort NextPacketId()
    {
        lock (_lock)
        {
            _lastPacketId = _lastPacketId == ushort.MaxValue ? (ushort)1 : (ushort)(_lastPacketId + 1);
            return _lastPacketId;
        }
    }

    /// <summary>The ack of the given type for the packet id, or null when the connection ended first.</summary>
    private async Task<PacketIdAck?> AwaitAckAsync(Connection connection, ushort packetId, PacketType type, DateTime deadline)
    {
        using var timeout = new CancellationTokenSource(deadline - DateTime.UtcNow);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, connection.Ended);
        try
        {
            while (true)
            {
                var ack = await _acks.Reader.ReadAsync(either.Token);
                if (ack.Type == type && ack.PacketId == packetId)
                {
                    return ack;
                }
            }
        }
        catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_clientId} got no {type} for packet {packetId} by {deadline:HH:mm:ss}");
        }
    }

    private async Task<Connection> CurrentAsync(DateTime deadline)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_connection is { IsOpen: true } open)
                {
                    return open;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{_clientId} could not reconnect within {ReconnectPatience.TotalSeconds} s: {string.Join("; ", Events)}");
            }

            await Task.Delay(50, _stop.Token);
        }
    }

    /// <summary>Reconnects whenever the connection ends, until disposed.</summary>
    private async Task SuperviseAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Connection? connection;
            lock (_lock)
            {
                connection = _connection;
            }

            if (connection is { IsOpen: true })
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(connection.Ended, _stop.Token).Token);
                }
                catch (OperationCanceledException)
                {
                }

                continue;
            }

            try
            {
                await ConnectAsync(cleanStart: false);
                Reconnects++;
                Events.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} reconnected");
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                Events.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} could not reconnect: {ex.GetType().Name} {ex.Message}");
                await Task.Delay(200, _stop.Token);
            }
        }
    }

    private async Task<Connection> ConnectAsync(bool cleanStart)
    {
        var port = _ports[_nextPort++ % _ports.Length];
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port);
        var connection = new Connection(tcp, this);
        try
        {
            await connection.WriteAsync(w => MqttEncoder.WriteConnect(w, new ConnectPacket
            {
                ProtocolVersion = MqttProtocolVersion.V500,
                ClientId = _clientId,
                CleanStart = cleanStart,
                SessionExpiryInterval = 600,
            }));
            using var timeout = new CancellationTokenSource(TestClient.Patience);
            var frame = await connection.ReadFrameAsync(timeout.Token) ?? throw new EndOfStreamException("closed before CONNACK");
            if (frame.Type != PacketType.ConnAck)
            {
                throw new InvalidOperationException($"{frame.Type} instead of CONNACK");
            }

            var connAck = MqttDecoder.DecodeConnAck(frame, MqttProtocolVersion.V500);
            if (connAck.ReasonCode != ReasonCode.Success)
            {
                throw new InvalidOperationException($"CONNECT refused: {connAck.ReasonCode}");
            }

            if (!cleanStart && !connAck.SessionPresent)
            {
                SessionsLost++;
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        lock (_lock)
        {
            _connection = connection;
        }

        connection.StartReading();
        return connection;
    }

    private async Task HandleAsync(Connection connection, MqttFrame frame)
    {
        switch (frame.Type)
        {
            case PacketType.Publish:
                var publish = MqttDecoder.DecodePublish(frame, MqttProtocolVersion.V500, fromServer: true);
                var text = Encoding.UTF8.GetString(publish.Payload);
                if (publish.Qos == QualityOfService.AtMostOnce)
                {
                    Deliver(text);
                }
                else if (publish.Qos == QualityOfService.AtLeastOnce)
                {
                    Deliver(text);
                    await connection.WriteAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, publish.PacketId), MqttProtocolVersion.V500));
                }
                else
                {
                    // Method B of 4.3.3: pass it on once, and remember the id until PUBREL.
                    if (_receivedAwaitingRelease.Add(publish.PacketId))
                    {
                        Deliver(text);
                    }

                    await connection.WriteAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRec, publish.PacketId), MqttProtocolVersion.V500));
                }

                break;
            case PacketType.PubRel:
                var release = MqttDecoder.DecodeAck(frame, MqttProtocolVersion.V500);
                _receivedAwaitingRelease.Remove(release.PacketId);
                await connection.WriteAsync(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubComp, release.PacketId), MqttProtocolVersion.V500));
                break;
            case PacketType.PubAck:
            case PacketType.PubRec:
            case PacketType.PubComp:
                _acks.Writer.TryWrite(MqttDecoder.DecodeAck(frame, MqttProtocolVersion.V500));
                break;
            case PacketType.SubAck:
                _acks.Writer.TryWrite(new PacketIdAck(PacketType.SubAck, 0));
                break;
        }
    }

    private void Deliver(string payload)
    {
        Received.Enqueue(payload);
        _received.Writer.TryWrite(payload);
    }

    /// <summary>One TCP connection: a read loop that hands packets to the client, and serialized writes.</summary>
    private sealed class Connection(TcpClient tcp, ResilientClient owner) : IDisposable
    {
        private readonly NetworkStream _stream = tcp.GetStream();
        private readonly PipeReader _reader = PipeReader.Create(tcp.GetStream());
        private readonly CancellationTokenSource _ended = new();

        public CancellationToken Ended => _ended.Token;

        public bool IsOpen => !_ended.IsCancellationRequested;

        public void StartReading() => _ = ReadLoopAsync();

        public async Task WriteAsync(Action<IBufferWriter<byte>> write)
        {
            var buffer = new ArrayBufferWriter<byte>();
            write(buffer);
            await owner._writeLock.WaitAsync();
            try
            {
                await _stream.WriteAsync(buffer.WrittenMemory);
            }
            finally
            {
                owner._writeLock.Release();
            }
        }

        public async Task<MqttFrame?> ReadFrameAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var result = await _reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (MqttFrameReader.TryRead(buffer, int.MaxValue, out var frame, out var consumed))
                {
                    var copy = new MqttFrame(frame.Type, frame.Flags, new ReadOnlySequence<byte>(frame.Body.ToArray()));
                    _reader.AdvanceTo(consumed);
                    return copy;
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return null;
                }
            }
        }

        private async Task ReadLoopAsync()
        {
            try
            {
                while (await ReadFrameAsync(CancellationToken.None) is { } frame)
                {
                    await owner.HandleAsync(this, frame);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or MqttProtocolException)
            {
                owner.Events.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} connection ended: {ex.Message}");
            }
            finally
            {
                owner.Events.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} connection closed");
                Dispose();
            }
        }

        public void Dispose()
        {
            if (!_ended.IsCancellationRequested)
            {
                _ended.Cancel();
                tcp.Dispose();
            }
        }
    }
}
