using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Grains;

/// <summary>
/// Runs in every silo and keeps each configured bridge grain active: it calls <c>Start</c> on all of them now and
/// then. Orleans keeps one activation per grain, so each queue has one owner however many silos ask; when that
/// owner's silo dies, the next call from any silo activates the bridge elsewhere, and it carries on from its session.
/// </summary>
public sealed class BridgeStarter(IGrainFactory grains, IOptions<BridgeOptions> options, ILogger<BridgeStarter> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan UntilStarted = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var outbound = settings.Outbound.Select(r => r.Queue).Distinct().ToArray();
        var inbound = settings.Inbound.Select(r => r.Queue).ToArray();
        var started = false;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAll(outbound.Select(q => grains.Reference<IOutboundBridgeGrain>(q).Start())
                    .Concat(inbound.Select(q => grains.Reference<IInboundBridgeGrain>(q).Start())));
                if (!started)
                {
                    logger.LogInformation("Bridges started: {Outbound} outbound and {Inbound} inbound queues", outbound.Length, inbound.Length);
                }

                started = true;
                failures = 0;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Until this silo has joined the cluster, calls fail: that is not worth a warning.
                if (started && failures++ % 12 == 0)
                {
                    logger.LogWarning(ex, "Could not reach the bridge grains");
                }
            }

            try
            {
                await Task.Delay(started ? Interval : UntilStarted, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
