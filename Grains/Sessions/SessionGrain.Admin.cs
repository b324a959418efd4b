using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>What operators do to a session (admin API), and what it tells the session directory and the silo's gauges.</summary>
public sealed partial class SessionGrain
{
    public async Task<bool> CloseConnection()
    {
        if (State.Connection is not { } connection)
        {
            return false;
        }

        _logger.LogInformation("Closing the connection of {ClientId} by administrative action", ClientId);
        await connection.Gateway.Close(connection.ConnectionId, (byte)ReasonCode.AdministrativeAction);
        return true;
    }

    public async Task<bool> Delete()
    {
        if (!State.Exists && State.Connection is null)
        {
            return false;
        }

        _logger.LogInformation("Deleting session {ClientId} by administrative action", ClientId);

        // An operator's delete is not the client's failure: the will is dropped, not published.
        State.Will = null;
        if (State.Connection is { } connection)
        {
            State.Connection = null;
            Detach(connection);
            try
            {
                await connection.Gateway.Close(connection.ConnectionId, (byte)ReasonCode.AdministrativeAction).WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not close the connection of {ClientId} while deleting its session", ClientId);
            }
        }

        await UnregisterRemindersAsync();
        await DiscardSessionAsync();
        ReportToDirectory();
        DeactivateOnIdle();
        return true;
    }

    /// <summary>Tells the directory partition of this client id what the session is now (one-way, off the message path).</summary>
    private void ReportToDirectory() =>
        SessionDirectory.For(GrainFactory, ClientId).Update(new SessionEntry(
            ClientId, State.Exists, State.Connection is not null, State.Connection?.GatewayId, IsPersistent, State.SubscriptionCount, DateTime.UtcNow)).Ignore();

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        SiloMetrics.SessionDeactivated(this);
        if (State.Connection is not { } connection)
        {
            return;
        }

        switch (reason.ReasonCode)
        {
            case DeactivationReasonCode.ActivationIdle or DeactivationReasonCode.HighMemoryPressure:
                await ParkAsync(connection);
                break;

            // Another activation is the session now; the session itself ended before asking to go.
            case DeactivationReasonCode.DuplicateActivation or DeactivationReasonCode.ApplicationRequested:
                break;

            // Stored: the next activation finds the connection in storage and closes it (OnActivateAsync).
            case var _ when IsPersistent:
                break;

            // Kept in memory only, the session goes with this activation: its silo stops, or lost the directory
            // partition that named this activation when another silo died. The client is told, so that it
            // reconnects, rather than keep a connection that no session stands behind. The server ends the
            // connection without the client's DISCONNECT, so the session ends abnormally and its will goes out
            // [MQTT-3.1.2-8] (expiry 0: the session ends with the connection, so the will delay does not apply).
            default:
                _logger.LogDebug("Session {ClientId} lost its activation ({Reason}): closing its connection {ConnectionId} so that the client reconnects", ClientId, reason.ReasonCode, connection.ConnectionId);
                Detach(connection);
                try
                {
                    await connection.Gateway.Close(connection.ConnectionId, (byte)ReasonCode.ServerBusy).WaitAsync(RecoveryCloseTimeout, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    _logger.LogDebug("Could not reach the gateway of {ClientId}'s connection: {Error}", ClientId, ex.Message);
                }

                await PublishWillOfLostSessionAsync(cancellationToken);
                break;
        }
    }

    /// <summary>
    /// A session kept in memory only cannot stay: the server closed its client's connection, which for MQTT is an
    /// abnormal end, and the session ends with it, so its will goes out now [MQTT-3.1.2-8].
    /// </summary>
    private async Task PublishWillOfLostSessionAsync(CancellationToken cancellationToken)
    {
        if (IsPersistent || State.Will is not { } will)
        {
            return;
        }

        State.Will = null;
        try
        {
            await PublishWillAsync(will).WaitAsync(RecoveryCloseTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("Could not publish the will of {ClientId} before its activation went: {Error}", ClientId, ex.Message);
        }
    }

    // The state as the grain last used it: Orleans allows reading grain state only inside the grain's own context,
    // so the silo's gauges read this reference, which every use of State in the grain refreshes.
    private SessionState? _observed;

    /// <summary>Messages held in memory by this activation, for the silo's gauges (read from the metrics thread).</summary>
    internal (int Queued, int InFlight) Held => _observed is { } state ? (state.QueueCount, state.InFlightCount) : (0, 0);
}
