using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Closes every connection when the host stops, before Orleans does, so that each session hears of it and wills
/// are handled: v5 clients get DISCONNECT 0x8B (server shutting down).
/// </summary>
public sealed class GatewayShutdown(ConnectionRegistry registry, IOptions<GatewayOptions> options, ILogger<GatewayShutdown> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var count = registry.Count;
        if (count == 0)
        {
            return;
        }

        logger.LogInformation("Closing {Count} connections for shutdown", count);
        foreach (var connection in registry.All)
        {
            connection.Close(ReasonCode.ServerShuttingDown, "server shutting down");
        }

        try
        {
            await registry.WhenEmpty().WaitAsync(options.Value.ShutdownTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("{Count} connections were still closing at shutdown", registry.Count);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
