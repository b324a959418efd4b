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
    private readonly ConnectionServices _services = new(
        grains,
        endpoint,
        registry,
        options.Value,
        limits,
        authenticators.ToDictionary(a => a.Method, StringComparer.Ordinal),
        authentication,
        authorization.Enabled ? authorization : null,
        loggerFactory.CreateLogger<MqttConnection>());

    public override Task OnConnectedAsync(ConnectionContext connection) => new MqttConnection(connection, _services, ids.Next()).RunAsync();
}

/// <summary>
/// What every connection of a gateway shares, held by each connection through one reference rather than one per
/// service: an idle connection is mostly its own state.
/// </summary>
public sealed class ConnectionServices(
    IGrainFactory grains,
    GatewayEndpoint endpoint,
    ConnectionRegistry registry,
    GatewayOptions options,
    ConnectionLimits limits,
    IReadOnlyDictionary<string, IEnhancedAuthenticator> authenticators,
    ConnectAuthenticator? authentication,
    Authorizer? authorization,
    ILogger logger)
{
    public IGrainFactory Grains { get; } = grains;

    public GatewayEndpoint Endpoint { get; } = endpoint;

    public ConnectionRegistry Registry { get; } = registry;

    public GatewayOptions Options { get; } = options;

    public ConnectionLimits Limits { get; } = limits;

    /// <summary>The enhanced authentication methods (v5 AUTH), by name.</summary>
    public IReadOnlyDictionary<string, IEnhancedAuthenticator> Authenticators { get; } = authenticators;

    /// <summary>Checks CONNECT credentials (<c>Mqtt:Auth</c>).</summary>
    public ConnectAuthenticator? Authentication { get; } = authentication;

    /// <summary>The ACL (<c>Mqtt:Acl</c>); null when there are no rules, and every client may do anything.</summary>
    public Authorizer? Authorization { get; } = authorization;

    public ILogger Logger { get; } = logger;
}
