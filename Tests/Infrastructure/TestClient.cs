using System.Text;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>An MQTTnet client whose received messages can be awaited in order.</summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();
    private readonly TaskCompletionSource<MqttClientDisconnectedEventArgs> _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestClient(IMqttClient client, MqttClientConnectResult result)
    {
        Client = client;
        ConnectResult = result;
    }

    public IMqttClient Client { get; }

    public MqttClientConnectResult ConnectResult { get; }

    /// <summary>Completes when the broker closes the connection (or the client disconnects).</summary>
    public Task<MqttClientDisconnectedEventArgs> Disconnected => _disconnected.Task;

    /// <summary>Connects, or throws <see cref="ConnectRefusedException"/> when the CONNACK refuses.</summary>
    public static async Task<TestClient> ConnectAsync(
        int port,
        string clientId,
        MqttProtocolVersion version = MqttProtocolVersion.V311,
        Action<MqttClientOptionsBuilder>? configure = null,
        bool autoAcknowledge = true)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder()
            .WithClientId(clientId)
            .WithProtocolVersion(version)
            .WithTimeout(Patience);
        if (port != 0)
        {
            // Port 0: the caller picks the transport (TLS, WebSocket) in configure; MQTTnet keeps the first one set.
            builder.WithTcpServer("127.0.0.1", port);
        }

        configure?.Invoke(builder);
        TestClient? wrapper = null;
        var pending = Channel.CreateUnbounded<MqttApplicationMessage>();
        client.ApplicationMessageReceivedAsync += e =>
        {
            e.AutoAcknowledge = autoAcknowledge;
            (wrapper?._received ?? pending).Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        client.DisconnectedAsync += e =>
        {
            wrapper?._disconnected.TrySetResult(e);
            return Task.CompletedTask;
        };

        using var timeout = new CancellationTokenSource(Patience);
        var result = await client.ConnectAsync(builder.Build(), timeout.Token);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            // MQTTnet returns a refusing CONNACK instead of throwing; a caller of this method expects a connection.
            client.Dispose();
            throw new ConnectRefusedException(result);
        }

        wrapper = new TestClient(client, result);
        while (pending.Reader.TryRead(out var early))
        {
            wrapper._received.Writer.TryWrite(early);
        }

        return wrapper;
    }

    public async Task SubscribeAsync(string filter, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtMostOnce)
    {
        var result = await Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, qos).Build());
        var code = result.Items.Single().ResultCode;
        Assert.True((int)code <= 2, $"SUBSCRIBE {filter} was refused: {code}");
    }

    public Task<MqttClientPublishResult> PublishAsync(string topic, string payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtMostOnce, bool retain = false) =>
        Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).WithRetainFlag(retain).Build());

    /// <summary>The next message received, or a failure that says what was awaited.</summary>
    public async Task<MqttApplicationMessage> ReceiveAsync(string awaited)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            return await _received.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No message arrived within {Patience.TotalSeconds} s: expected {awaited}");
        }
    }

    /// <summary>
    /// The next message received, or null when the broker closes the connection first (see <see cref="Disconnected"/>);
    /// a failure that says what was awaited when neither happens in time.
    /// </summary>
    public async Task<MqttApplicationMessage?> ReceiveUnlessDisconnectedAsync(string awaited)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var read = _received.Reader.ReadAsync(timeout.Token).AsTask();
        if (await Task.WhenAny(read, Disconnected) == Disconnected)
        {
            await timeout.CancelAsync();
        }

        try
        {
            return await read;
        }
        catch (OperationCanceledException)
        {
            return Disconnected.IsCompleted ? null : throw new TimeoutException($"Neither a message nor a disconnect within {Patience.TotalSeconds} s: expected {awaited}");
        }
    }

    /// <summary>Messages up to and including the first on <paramref name="markerTopic"/>, which proves nothing else is on its way.</summary>
    public async Task<List<MqttApplicationMessage>> ReceiveUntilAsync(string markerTopic)
    {
        var messages = new List<MqttApplicationMessage>();
        while (true)
        {
            var message = await ReceiveAsync($"the marker on {markerTopic}");
            if (message.Topic == markerTopic)
            {
                return messages;
            }

            messages.Add(message);
        }
    }

    public async Task DisconnectAsync()
    {
        if (Client.IsConnected)
        {
            await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
        }
    }

    /// <summary>Drops the TCP connection without DISCONNECT, as a device that loses power would.</summary>
    public void Drop() => Client.Dispose();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await DisconnectAsync();
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or ObjectDisposedException or OperationCanceledException)
        {
        }

        Client.Dispose();
    }
}

public static class Payloads
{
    public static string Text(this MqttApplicationMessage message) => Encoding.UTF8.GetString(message.Payload);
}

/// <summary>The broker answered CONNECT with a failure code (MQTTnet returns such a CONNACK rather than throwing).</summary>
public sealed class ConnectRefusedException(MqttClientConnectResult result)
    : MQTTnet.Exceptions.MqttCommunicationException($"CONNECT refused: {result.ResultCode} {result.ReasonString}")
{
    public MqttClientConnectResult Result { get; } = result;
}
