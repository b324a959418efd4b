using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>Kestrel hands every accepted TCP and TLS connection here, and the WebSocket endpoint every WebSocket.</summary>
public sealed class MqttConnectionHandler(
    IGrainFactory grains,
    GatewayEndpoint endpoint,
    ConnectionRegistry registry,
    ConnectionIds ids,
    IOptions<GatewayOptions> options,
    IEnumerable<IEnhancedAuthenticator> authenticators,
    ConnectionLimits limits,
    ConnectAuthenticator authentication,
    Authorizer authorization,
    ILoggerFactory loggerFactory) : ConnectionHandler
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<MqttConnection>();
    private readonly Dictionary<string, IEnhancedAuthenticator> _authenticators = authenticators.ToDictionary(a => a.Method, StringComparer.Ordinal);

    public override Task OnConnectedAsync(ConnectionContext connection) =>
        new MqttConnection(connection, grains, endpoint, registry, options.Value, ids.Next(), _logger) { Authenticators = _authenticators, Limits = limits, Authentication = authentication, Authorization = authorization.Enabled ? authorization : null }.RunAsync();
}
