using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// At start, says which secure listeners are on and whether anonymous clients get in, and reads the password, JWKS
/// and ACL files now, so that a bad file stops the program at start rather than at the first CONNECT.
/// </summary>
public sealed class EdgeReport(
    IOptions<GatewayOptions> gateway,
    IOptions<TlsOptions> tls,
    IOptions<WebSocketOptions> webSocket,
    ConnectAuthenticator authentication,
    Authorizer authorization,
    ILogger<EdgeReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listeners = new List<string>();
        if (tls.Value.Enabled)
        {
            listeners.Add($"mqtts://{tls.Value.Address}:{tls.Value.Port} (client certificates: {tls.Value.ClientCertificateMode})");
        }

        var http = gateway.Value.Http;
        if (http.Enabled && webSocket.Value.Enabled)
        {
            listeners.Add($"{(http.Tls ? "wss" : "ws")}://{http.Address}:{http.Port}{webSocket.Value.Path}");
        }

        logger.LogInformation(
            "MQTT edge: {Listeners}; anonymous clients {Anonymous}; ACL {Acl}",
            listeners.Count > 0 ? string.Join(", ", listeners) : "no TLS or WebSocket listener",
            authentication.AnonymousAllowed ? "allowed" : "refused",
            authorization.Enabled ? "on" : "off (everything allowed)");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
