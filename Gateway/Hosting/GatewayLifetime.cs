using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Says when the gateway is ready, and closes every connection when the host stops, before Orleans does, so that each session hears of it and wills
/// are handled: v5 clients get DISCONNECT 0x8B (server shutting down), or 0x9C (use another server) with the Server
/// Reference of Mqtt:ServerReference when it is set.
/// </summary>
public sealed class GatewayLifetime(ConnectionRegistry registry, GatewayEndpoint endpoint, MqttTcpListener listener, IOptions<GatewayOptions> options, ILogger<GatewayLifetime> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Every hosted service has started, the cluster connection included: clients can be served.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Tcp.Enabled)
        {
            listener.Start();
        }

        logger.LogInformation("MQTT gateway {GatewayId} ready: {Listener}", endpoint.GatewayId, listener.EndPoint is { } tcp ? $"mqtt://{tcp}" : "no TCP listener (Mqtt:Tcp:Enabled is false)");
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await listener.StopAcceptingAsync();
        var count = registry.Count;
        if (count > 0)
        {
            logger.LogInformation("Closing {Count} connections for shutdown", count);
            foreach (var connection in registry.All)
            {
                if (options.Value.ServerReference is { Length: > 0 } reference)
                {
                    connection.Close(ReasonCode.UseAnotherServer, "server shutting down", reference);
                }
                else
                {
                    connection.Close(ReasonCode.ServerShuttingDown, "server shutting down");
                }
            }
        }

        try
        {
            // A connection leaves the registry before it tells its session how it ended; the listener's count
            // includes that last step (Kestrel waits the same way for the TLS and WebSocket connections it serves).
            await Task.WhenAll(registry.WhenEmpty(), listener.WhenDrained()).WaitAsync(options.Value.ShutdownTimeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("{Count} connections were still closing at shutdown", registry.Count);
        }
    }

    /// <summary>Connections that did not finish closing in time are cut (Kestrel does the same to its own).</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var connection in registry.All)
        {
            connection.Abort();
        }

        return Task.CompletedTask;
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
