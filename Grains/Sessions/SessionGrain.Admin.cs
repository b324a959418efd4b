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
        if (reason.ReasonCode is DeactivationReasonCode.ActivationIdle or DeactivationReasonCode.HighMemoryPressure && State.Connection is { } connection)
        {
            await ParkAsync(connection);
        }
    }

    // The state as the grain last used it: Orleans allows reading grain state only inside the grain's own context,
    // so the silo's gauges read this reference, which every use of State in the grain refreshes.
    private SessionState? _observed;

    /// <summary>Messages held in memory by this activation, for the silo's gauges (read from the metrics thread).</summary>
    internal (int Queued, int InFlight) Held => _observed is { } state ? (state.QueueCount, state.InFlightCount) : (0, 0);
}
