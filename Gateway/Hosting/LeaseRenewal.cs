using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Renews this gateway's lease on all its connections with one grain call every <c>Mqtt:Lease:RenewInterval</c>.
/// If the gateway stops (crash, partition), the lease grain reports its connections' sessions as abnormally closed.
/// Connections whose lease expired while the gateway was cut off are closed here: their sessions moved on.
/// </summary>
public sealed class LeaseRenewal(IGrainFactory grains, GatewayEndpoint endpoint, ConnectionRegistry registry, IOptions<LeaseOptions> options, ILogger<LeaseRenewal> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = grains.Reference<IGatewayLeaseGrain>(endpoint.GatewayId);
        var failures = 0;
        using var timer = new PeriodicTimer(options.Value.RenewInterval);
        try
        {
            do
            {
                try
                {
                    var expired = await lease.Renew(options.Value.Duration).WaitAsync(options.Value.Duration, stoppingToken);
                    if (failures > 0)
                    {
                        logger.LogInformation("Lease of gateway {GatewayId} renewed again after {Failures} failed attempts", endpoint.GatewayId, failures);
                        failures = 0;
                    }

                    CloseExpired(expired);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    failures++;
                    logger.LogWarning("Could not renew the lease of gateway {GatewayId} (attempt {Failures}): {Error}", endpoint.GatewayId, failures, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void CloseExpired(long[] expired)
    {
        foreach (var id in expired)
        {
            if (registry.TryGet(id, out var connection))
            {
                logger.LogWarning("Closing connection {ConnectionId} ({ClientId}): its lease expired while this gateway was cut off", id, connection.ClientId);
                connection.Close(ReasonCode.SessionTakenOver, "lease expired");
            }
        }
    }
}
