using Microsoft.Extensions.Diagnostics.HealthChecks;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Ready means this process reaches the cluster: a call through its Orleans client (a gateway's, or a silo's own)
/// lists at least one active silo within a short time. The management grain is a stateless worker, so the call is
/// answered by the silo it reaches first (the local one in a silo), not by one particular silo whose loss would make
/// every gateway unready at once.
/// </summary>
public sealed class ClusterReadinessCheck(IServiceProvider services) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // Resolved per check: in a silo the client exists only once the silo has started.
            var grains = services.GetRequiredService<IGrainFactory>();
            // The grain call itself takes no token; WaitAsync bounds the wait.
#pragma warning disable CA2016
            var call = grains.Reference<IManagementGrain>(0).GetHosts(onlyActive: true);
#pragma warning restore CA2016
            var hosts = await call.WaitAsync(Timeout, cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silos")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("cluster not reachable: " + ex.Message);
        }
    }
}
