using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Reports this gateway's counters to the cluster's stats grain every <c>Mqtt:Telemetry:ReportInterval</c>: one call
/// per gateway, whatever its number of connections. The answer names the clients traced on demand.
/// </summary>
public sealed class StatsReporter(IGrainFactory grains, GatewayEndpoint endpoint, IOptions<TelemetryOptions> options, ILogger<StatsReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stats = grains.Reference<IClusterStatsGrain>(0);
        using var timer = new PeriodicTimer(options.Value.ReportInterval);
        var failed = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var traces = await stats.Report(Snapshot()).WaitAsync(options.Value.ReportInterval * 2, stoppingToken);
                    endpoint.Traces.Add(traces.Select(t => (t.ClientId, t.UntilUtc)));
                    failed = false;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    if (!failed)
                    {
                        logger.LogWarning("Could not report the counters of gateway {GatewayId}: {Error}", endpoint.GatewayId, ex.Message);
                    }

                    failed = true;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private GatewayReport Snapshot() => new(
        endpoint.GatewayId,
        Environment.MachineName,
        BrokerMetrics.ProcessStartedUtc,
        BrokerMetrics.Connections,
        BrokerMetrics.ConnectionsOpened,
        BrokerMetrics.MessagesReceived,
        BrokerMetrics.MessagesSent,
        BrokerMetrics.NetworkReceived,
        BrokerMetrics.NetworkSent,
        BrokerMetrics.Dropped,
        TopicCounter.TakeTop(10));
}
