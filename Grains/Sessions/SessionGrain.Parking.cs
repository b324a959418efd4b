using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// Parking: a connected session that nobody called for <see cref="SessionOptions.ParkAfter"/> gives up its
/// activation, the largest thing an idle client costs the cluster. Orleans collects it as idle; on the way out it
/// writes its state, marked parked, to grain storage, and the client's connection stays open. Whatever calls the
/// session next (a delivery, an acknowledgement, a subscription, a take-over, its gateway reporting the end of the
/// connection or the gateway's lease lapsing) activates it again, and it carries on from that state.
/// </summary>
/// <remarks>
/// Collection only takes an activation with no call running, so nothing is half done and the stored state is
/// exact. A clean session deletes the parked copy when it comes back: it keeps its state in memory only, and a copy
/// left behind could be taken for the truth after a crash. A persistent session keeps it: every change after that is
/// written before it has effect, and each write clears the mark.
/// </remarks>
public sealed partial class SessionGrain
{
    private async Task ParkAsync(ConnectionRef connection)
    {
        var state = State;
        state.Parked = true;
        state.ReceiveMaximum = _receiveMaximum;
        (state.TakenOverConnectionId, state.TakenOverWill) = _takenOverWill is { } pending ? (pending.ConnectionId, pending.Will) : (0, null);
        try
        {
            await _stored.WriteStateAsync();
            SiloMetrics.SessionParked();
            if (!IsPersistent)
            {
                // It is no longer lost with this silo: the gateway must not close the connection if this silo dies.
                connection.Gateway.SessionMoved(connection.ConnectionId, null).Ignore();
            }

            _logger.LogDebug("Session {ClientId} parked while its client is quiet (connection {ConnectionId} on gateway {GatewayId})", ClientId, connection.ConnectionId, connection.GatewayId);
        }
        catch (Exception ex)
        {
            // The session cannot stay and cannot be kept: the client reconnects rather than talk to a session that
            // forgot it. A clean session ends here and its will goes out; a persistent one is as it was last stored,
            // and its next activation ends the connection the same way (OnActivateAsync).
            _logger.LogWarning(ex, "Could not park the session of {ClientId}: closing its connection so that the client reconnects", ClientId);
            Detach(connection);
            connection.Gateway.Close(connection.ConnectionId, (byte)ReasonCode.ServerBusy).Ignore();
            await PublishWillOfLostSessionAsync(CancellationToken.None);
        }
    }

    private async Task ResumeAsync()
    {
        var state = State;
        state.Parked = false;
        _receiveMaximum = state.ReceiveMaximum > 0 ? state.ReceiveMaximum : _options.MaxInflightMessages;
        if (state.TakenOverWill is { } will)
        {
            _takenOverWill = (state.TakenOverConnectionId, will);
        }

        (state.TakenOverConnectionId, state.TakenOverWill) = (0, null);
        if (!IsPersistent)
        {
            await ClearStoredStateAsync();
            if (state.Connection is { } connection)
            {
                // Kept in memory again, now on this silo: if it dies, the gateway closes the connection.
                connection.Gateway.SessionMoved(connection.ConnectionId, Host).Ignore();
            }
        }

        SiloMetrics.SessionResumed();
        _logger.LogDebug("Session {ClientId} resumed from parking", ClientId);
    }
}
