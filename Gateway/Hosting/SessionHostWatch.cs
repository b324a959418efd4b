using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

/// <summary>
/// A session kept in memory only (expiry 0) dies with the silo that holds it. Its client would keep a connection
/// that no longer has a session behind it and receive nothing, so every <c>Mqtt:Lease:RenewInterval</c> this
/// gateway asks the cluster which silos are dead, and closes the connections whose sessions lived on one (v5:
/// DISCONNECT 0x89) and publishes their wills, which the sessions took with them. The client reconnects and starts a
/// new session, as after any loss of a clean session.
/// </summary>
/// <remarks>
/// Only a silo the membership declared dead counts: one missing from the answer may just have joined after the
/// answering silo last read the membership table.
/// </remarks>
public sealed class SessionHostWatch(IGrainFactory grains, ConnectionRegistry registry, IOptions<LeaseOptions> options, ILogger<SessionHostWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RenewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!registry.HasSessionHosts)
                {
                    continue;
                }

                try
                {
                    // The grain call itself takes no token; WaitAsync bounds the wait.
#pragma warning disable CA2016
                    var call = grains.Reference<IManagementGrain>(0).GetHosts(onlyActive: false);
#pragma warning restore CA2016
                    var statuses = await call.WaitAsync(options.Value.Duration, stoppingToken);
                    foreach (var host in registry.SessionHosts)
                    {
                        if (statuses.TryGetValue(host, out var status) && status == SiloStatus.Dead)
                        {
                            CloseSessionsOf(host);
                        }
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    logger.LogDebug("Could not read the cluster's silos: {Error}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void CloseSessionsOf(SiloAddress host)
    {
        // Forgotten first: a connection that learns of this host after the sweep interns it again and is closed
        // on the next round.
        registry.ForgetSessionHost(host);
        var closed = 0;
        foreach (var connection in registry.All)
        {
            if (connection.SessionHost is { } sessionHost && sessionHost.Equals(host))
            {
                connection.CloseLostSession();
                closed++;
            }
        }

        logger.LogWarning("Silo {Silo} died with the sessions it held in memory: closed {Count} connections of this gateway so that their clients reconnect", host, closed);
    }
}
