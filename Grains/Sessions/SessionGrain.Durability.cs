using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// What keeps a session right across crashes: the gateway lease its connection is attached to (the dead-man's
/// switch), and the recovery of a session whose silo died while its client was connected.
/// </summary>
public sealed partial class SessionGrain
{
    /// <summary>How long a recovering session waits for the old connection's gateway to close it.</summary>
    private static readonly TimeSpan RecoveryCloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Stored state says a client is connected, yet this is a new activation: the silo that hosted the session died
    /// or stopped. Whatever was on its way to the client then is unknown, and MQTT resends unacknowledged messages
    /// only on a new connection [MQTT-4.4.0-1]; so the connection is closed and the client reconnects. The server closed
    /// it without the client's DISCONNECT, so for MQTT it ended abnormally: the will goes out after its delay unless the
    /// client is back first, as when its gateway is gone.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (State.Parked)
        {
            await ResumeAsync();
            return;
        }

        if (State.Connection is not { } connection)
        {
            return;
        }

        _logger.LogInformation("Session {ClientId} resumed from storage with connection {ConnectionId} on gateway {GatewayId} open: closing it so that the client reconnects", ClientId, connection.ConnectionId, connection.GatewayId);
        try
        {
            await connection.Gateway.Close(connection.ConnectionId, (byte)ReasonCode.ServerBusy).WaitAsync(RecoveryCloseTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogInformation("The gateway of {ClientId}'s connection is gone too ({Error})", ClientId, ex.Message);
        }

        // The server closed the connection without the client's DISCONNECT: an abnormal end, so the will goes out
        // after its delay unless the client is back first [MQTT-3.1.2-8, 3.1.3-9], and expiry starts. The gateway
        // reports the end of that connection later; by then it is no longer this session's connection.
        await Disconnect(connection.GatewayId, connection.ConnectionId, DisconnectKind.Abnormal, null);
    }

    /// <summary>
    /// Attaches the connection to its gateway's lease. Durable when the session must outlive the gateway (it
    /// is persistent or has a will): then the caller awaits it before CONNACK.
    /// </summary>
    private Task AttachAsync(ConnectionRef connection, bool durable) =>
        GrainFactory.Reference<IGatewayLeaseGrain>(connection.GatewayId).Attach(connection.ConnectionId, ClientId, durable);

    /// <summary>Fire and forget: a stale attachment only costs a Disconnect that this session ignores.</summary>
    private void Detach(ConnectionRef connection) =>
        _ = GrainFactory.Reference<IGatewayLeaseGrain>(connection.GatewayId).Detach(connection.ConnectionId);

    /// <summary>How many exactly-once message ids a session remembers to recognise a copy resent after a crash.</summary>
    private const int RecentExactlyOnceLimit = 128;

    /// <summary>
    /// False for a copy of an exactly-once message this session already took: its publisher's session resent it
    /// after a crash, not knowing how far the first attempt got.
    /// </summary>
    private bool FirstDelivery(MqttMessage message)
    {
        if (message.ExactlyOnceId == 0)
        {
            return true;
        }

        var recent = State.RecentExactlyOnceIds;
        if (recent.Contains(message.ExactlyOnceId))
        {
            _logger.LogDebug("Session {ClientId} already has message {MessageId}", ClientId, message.ExactlyOnceId);
            return false;
        }

        if (recent.Count >= RecentExactlyOnceLimit)
        {
            recent.RemoveAt(0);
        }

        recent.Add(message.ExactlyOnceId);
        return true;
    }

    /// <summary>
    /// Sends a QoS 1/2 message to a persistent session's client only once the session has stored it: a client never
    /// holds a message that a crash could make the session forget and send again as a new message.
    /// </summary>
    private async Task SendWhenStoredAsync(ConnectionRef connection, List<Delivery> deliveries)
    {
        await Commit.CommitAsync();
        if (State.Connection?.ConnectionId == connection.ConnectionId)
        {
            foreach (var delivery in deliveries)
            {
                _batcher.Send(connection, delivery);
            }
        }

        // Otherwise the connection changed meanwhile; the message is in flight and the new connection gets it again.
    }
}
