using System.Text;
using System.Threading.Channels;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// Stands in for a gateway process: records what the grains deliver to it and which connections they ask it to
/// close. Its observer reference lives as long as this object, so tests keep it referenced.
/// </summary>
public sealed class RecordingGateway : IGatewayObserver
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Channel<Delivery> _deliveries = Channel.CreateUnbounded<Delivery>();
    private readonly Channel<(long ConnectionId, byte ReasonCode)> _closes = Channel.CreateUnbounded<(long, byte)>();
    private readonly Channel<(long ConnectionId, SiloAddress? Host)> _moves = Channel.CreateUnbounded<(long, SiloAddress?)>();

    public RecordingGateway(IGrainFactory grains)
    {
        Reference = grains.CreateObjectReference<IGatewayObserver>(this);
    }

    public string GatewayId { get; } = "test-gateway-" + Guid.NewGuid().ToString("N");

    public IGatewayObserver Reference { get; }

    /// <summary>A new connection on this gateway, with an id no other connection has.</summary>
    public ConnectionRef NewConnection() => new(GatewayId, Random.Shared.NextInt64(1, long.MaxValue), Reference);

    public Task Deliver(Delivery[] deliveries)
    {
        foreach (var delivery in deliveries)
        {
            _deliveries.Writer.TryWrite(delivery);
        }

        return Task.CompletedTask;
    }

    public Task Close(long connectionId, byte reasonCode)
    {
        _closes.Writer.TryWrite((connectionId, reasonCode));
        return Task.CompletedTask;
    }

    public Task SessionMoved(long connectionId, SiloAddress? host)
    {
        _moves.Writer.TryWrite((connectionId, host));
        return Task.CompletedTask;
    }

    /// <summary>The next move of a memory-only session that the grains reported, or a failure that says what was awaited.</summary>
    public Task<(long ConnectionId, SiloAddress? Host)> ReceiveMoveAsync(string awaited) => ReadAsync(_moves.Reader, "SessionMoved call", awaited);

    /// <summary>The next delivery to this gateway, or a failure that says what was awaited.</summary>
    public Task<Delivery> ReceiveAsync(string awaited) => ReadAsync(_deliveries.Reader, "delivery", awaited);

    /// <summary>The next connection the grains asked this gateway to close, or a failure that says what was awaited.</summary>
    public Task<(long ConnectionId, byte ReasonCode)> ReceiveCloseAsync(string awaited) => ReadAsync(_closes.Reader, "Close call", awaited);

    private static async Task<T> ReadAsync<T>(ChannelReader<T> reader, string what, string awaited)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            return await reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No {what} arrived within {Patience.TotalSeconds} s: expected {awaited}");
        }
    }
}

public static class Messages
{
    public static MqttMessage Create(string topic, string payload, byte qos = 1, bool retain = false) =>
        new(topic, Encoding.UTF8.GetBytes(payload), qos, retain);

    public static string Text(this Delivery delivery) => Encoding.UTF8.GetString(delivery.Message.Payload.Span);

    public static string Describe(this Delivery delivery) =>
        $"'{delivery.Text()}' on {delivery.Message.Topic} (QoS {delivery.Qos}, packet id {delivery.PacketId}, DUP {delivery.Dup})";
}
