using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// A bare TCP connection speaking MQTT through the project's codec, for what a library client will not do:
/// go silent, drop the socket, send malformed bytes.
/// </summary>
public sealed class RawMqttClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly PipeReader _reader;
    private readonly Stream _stream;

    private RawMqttClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = PipeReader.Create(_stream);
    }

    public MqttProtocolVersion Version { get; set; } = MqttProtocolVersion.V311;

    /// <param name="source">A loopback address to connect from (127.0.0.x), to appear as another source.</param>
    /// <param name="receiveBuffer">A small socket receive buffer, so that a client that does not read backs up sooner.</param>
    public static async Task<RawMqttClient> OpenAsync(int port, System.Net.IPAddress? source = null, int? receiveBuffer = null)
    {
        var tcp = source is null ? new TcpClient { NoDelay = true } : new TcpClient(new System.Net.IPEndPoint(source, 0)) { NoDelay = true };
        if (receiveBuffer is { } size)
        {
            tcp.ReceiveBufferSize = size;
        }

        await tcp.ConnectAsync("127.0.0.1", port);
        return new RawMqttClient(tcp);
    }

    public async Task<ConnAckPacket> ConnectAsync(ConnectPacket connect)
    {
        Version = connect.ProtocolVersion;
        await SendAsync(w => MqttEncoder.WriteConnect(w, connect));
        var frame = await ReadFrameAsync();
        Assert.Equal(PacketType.ConnAck, frame.Type);
        return MqttDecoder.DecodeConnAck(frame.Frame, Version);
    }

    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        await _stream.WriteAsync(buffer.WrittenMemory);
    }

    public Task SendBytesAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>The next whole packet from the broker, copied out of the pipe.</summary>
    public async Task<ReceivedFrame> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(TestClient.Patience);
        while (true)
        {
            var result = await _reader.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (MqttFrameReader.TryRead(buffer, int.MaxValue, out var frame, out var consumed))
            {
                var copy = new MqttFrame(frame.Type, frame.Flags, new ReadOnlySequence<byte>(frame.Body.ToArray()));
                _reader.AdvanceTo(consumed);
                return new ReceivedFrame(copy);
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The broker closed the connection");
            }
        }
    }

    /// <summary>Completes when the broker closes the connection; packets before that are returned.</summary>
    public async Task<List<ReceivedFrame>> ReadUntilClosedAsync()
    {
        var frames = new List<ReceivedFrame>();
        try
        {
            while (true)
            {
                frames.Add(await ReadFrameAsync());
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or SocketException)
        {
            return frames;
        }
    }

    /// <summary>Closes the socket without DISCONNECT.</summary>
    public void Drop() => _tcp.Client.Close(0);

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        _tcp.Dispose();
    }
}

public readonly record struct ReceivedFrame(MqttFrame Frame)
{
    public PacketType Type => Frame.Type;
}

public static class RawMqttClientExtensions
{
    /// <summary>The next packet, which must be a PUBLISH from the broker.</summary>
    public static async Task<OrleansMqtt.Protocol.PublishPacket> ReadPublishAsync(this RawMqttClient client)
    {
        var frame = await client.ReadFrameAsync();
        Assert.Equal(OrleansMqtt.Protocol.PacketType.Publish, frame.Type);
        return OrleansMqtt.Protocol.MqttDecoder.DecodePublish(frame.Frame, client.Version, fromServer: true);
    }

    /// <summary>The broker's DISCONNECT, after which it closes the connection.</summary>
    public static async Task<OrleansMqtt.Protocol.DisconnectPacket> ReadDisconnectAsync(this RawMqttClient client)
    {
        var frames = await client.ReadUntilClosedAsync();
        var last = Assert.Single(frames, f => f.Type == OrleansMqtt.Protocol.PacketType.Disconnect);
        return OrleansMqtt.Protocol.MqttDecoder.DecodeDisconnect(last.Frame, client.Version);
    }

    public static Task PublishAsync(this RawMqttClient client, string topic, byte[] payload, OrleansMqtt.Protocol.QualityOfService qos = default, ushort packetId = 0, OrleansMqtt.Protocol.PublishProperties? properties = null) =>
        client.SendAsync(w => OrleansMqtt.Protocol.MqttEncoder.WritePublish(w, new OrleansMqtt.Protocol.PublishPacket
        {
            Topic = topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>(payload),
            Qos = qos,
            PacketId = packetId,
            Properties = properties,
        }, client.Version));

    public static Task SubscribeAsync(this RawMqttClient client, ushort packetId, params OrleansMqtt.Protocol.TopicSubscription[] subscriptions) =>
        client.SendAsync(w => OrleansMqtt.Protocol.MqttEncoder.WriteSubscribe(w, new OrleansMqtt.Protocol.SubscribePacket { PacketId = packetId, Subscriptions = subscriptions }, client.Version));
}
