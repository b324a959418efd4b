using System.IO.Pipelines;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// What a connection tells the metrics, the log scope and the per-client trace. Each hook is a few atomic adds or
/// one static flag read; the hot-path files only call them.
/// </summary>
public sealed partial class MqttConnection
{
    private ReasonCode _closeCode;
    private bool _counted;

    private void OnConnected()
    {
        _counted = true;
        BrokerMetrics.ConnectionOpened();
        if (_services.Endpoint.Traces.Any && _services.Endpoint.Traces.IsTraced(ClientId))
        {
            Logger.LogInformation("Trace {ClientId}: connected (v{Version}, keep-alive {KeepAlive} s, session expiry {Expiry} s)", ClientId, (byte)Version, KeepAliveSeconds, _sessionExpiry);
        }
    }

    private void OnEnded()
    {
        if (!_counted)
        {
            return;
        }

        _counted = false;
        var reason = EndReason();
        BrokerMetrics.ConnectionClosed(reason);
        if (_services.Endpoint.Traces.Any && _services.Endpoint.Traces.IsTraced(ClientId))
        {
            Logger.LogInformation("Trace {ClientId}: connection ended ({Reason}: {Why})", ClientId, reason, _endReason);
        }
    }

    private CloseReason EndReason()
    {
        if (_disconnectReceived)
        {
            return CloseReason.Client;
        }

        if (Volatile.Read(ref _closeRequested) == 0)
        {
            return CloseReason.Network;
        }

        return _closeCode switch
        {
            ReasonCode.KeepAliveTimeout => CloseReason.KeepAlive,
            ReasonCode.SessionTakenOver => CloseReason.TakenOver,
            ReasonCode.ServerShuttingDown or ReasonCode.UseAnotherServer or ReasonCode.ServerMoved => CloseReason.Shutdown,
            ReasonCode.AdministrativeAction => CloseReason.Admin,
            ReasonCode.QuotaExceeded or ReasonCode.MessageRateTooHigh => CloseReason.QuotaExceeded,
            ReasonCode.ServerUnavailable or ReasonCode.ServerBusy or ReasonCode.UnspecifiedError => CloseReason.ServerError,
            >= ReasonCode.MalformedPacket => CloseReason.ProtocolError,
            _ => CloseReason.Other,
        };
    }

    private void CountReceived(in PublishPacket packet, string topic)
    {
        BrokerMetrics.MessageReceived((int)packet.Qos, (int)packet.Payload.Length);
        TopicCounter.Count(topic);
    }

    private static void CountSent(Delivery delivery, DateTime now)
    {
        // A retained message sent at SUBSCRIBE, or a resend, says nothing about how fast delivery is.
        var publishedAt = delivery.Retain || delivery.Dup ? 0 : delivery.Message.PublishedAtTicks;
        BrokerMetrics.MessageSent(delivery.Qos, delivery.Message.Payload.Length, publishedAt, now.Ticks);
    }

    private static void CountFlushed(PipeWriter output)
    {
        if (output.CanGetUnflushedBytes)
        {
            BrokerMetrics.BytesSent(output.UnflushedBytes);
        }
    }

    private void TraceInbound(in MqttFrame frame)
    {
        if (_services.Endpoint.Traces.IsTraced(ClientId))
        {
            Logger.LogInformation("Trace {ClientId}: received {PacketType} ({Length} bytes)", ClientId, frame.Type, frame.Body.Length);
        }
    }

    private void TraceOutbound(in Outbound item)
    {
        if (!_services.Endpoint.Traces.IsTraced(ClientId))
        {
            return;
        }

        if (item.Kind == OutboundKind.Delivery && item.Delivery is { IsRelease: false } delivery)
        {
            Logger.LogInformation("Trace {ClientId}: sending PUBLISH on {Topic} (QoS {Qos}, packet id {PacketId}, {Length} bytes, dup {Dup}, retain {Retain})", ClientId, delivery.Message.Topic, delivery.Qos, delivery.PacketId, delivery.Message.Payload.Length, delivery.Dup, delivery.Retain);
        }
        else
        {
            var packet = item.Kind switch
            {
                OutboundKind.Ack => $"{item.Ack.Type} (packet id {item.Ack.PacketId}, reason 0x{(byte)item.Ack.ReasonCode:X2})",
                OutboundKind.Delivery => "PUBREL",
                OutboundKind.PingResp => "PINGRESP",
                _ => item.Packet?.GetType().Name ?? item.Kind.ToString(),
            };
            Logger.LogInformation("Trace {ClientId}: sending {Packet}", ClientId, packet);
        }
    }
}

/// <summary>
/// The logger of one connection: every line it writes has the client id (filled in at CONNECT), gateway id and
/// connection id in its scope. The scope is begun around each line rather than held for the connection's life, so
/// that an idle connection carries no scope objects and no execution context of its own.
/// </summary>
public sealed class ConnectionLogger(ILogger inner, string gatewayId, long connectionId, string? clientId) : ILogger, IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("ClientId", clientId),
        1 => new("GatewayId", gatewayId),
        2 => new("ConnectionId", connectionId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        using (inner.BeginScope(this))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"client {clientId ?? "-"} gateway {gatewayId} connection {connectionId}";
}
