using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// One periodic sweep over all connections of this gateway for CONNECT and keep-alive timeouts, instead of a timer
/// per connection.
/// </summary>
public sealed class ConnectionSweeper(ConnectionRegistry registry, ConnectionLimits limits, IOptions<GatewayOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.KeepAliveSweepInterval);
        var prunedAt = Environment.TickCount64;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Environment.TickCount64;
                foreach (var connection in registry.All)
                {
                    connection.CheckTimeouts(now);
                }

                if (now - prunedAt > 60_000)
                {
                    // CONNECT buckets of source addresses that went quiet.
                    limits.PruneSources(now);
                    prunedAt = now;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
