using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The edge: MQTT over TLS (<c>Mqtt:Tls</c>), MQTT over WebSocket on the HTTP listener (<c>Mqtt:WebSocket</c>), and
/// authentication and access control of every connection (<c>Mqtt:Auth</c>, <c>Mqtt:Acl</c>).
/// </summary>
public static class TransportHosting
{
    public static IServiceCollection AddMqttEdge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TlsOptions>().Bind(configuration.GetSection(TlsOptions.Section)).ValidateDataAnnotations()
            .Validate<IOptions<GatewayOptions>>((tls, gateway) => !gateway.Value.Http.Tls || tls.CertificatePath is { Length: > 0 }, "Mqtt:Http:Tls needs a certificate: set Mqtt:Tls:CertificatePath.")
            .ValidateOnStart();
        services.AddOptions<WebSocketOptions>().Bind(configuration.GetSection(WebSocketOptions.Section))
            .Validate(o => o.Path.StartsWith('/'), "Mqtt:WebSocket:Path must start with '/'.").ValidateOnStart();
        services.AddOptions<AclOptions>().Bind(configuration.GetSection(AclOptions.Section))
            .Validate(o => o.File is not { Length: > 0 } path || File.Exists(path), "Mqtt:Acl:File names a file that does not exist.").ValidateOnStart();
        services.AddOptions<AuthOptions>()
            .Validate(o => o.Jwt.JwksPath is not { Length: > 0 } path || File.Exists(path), "Mqtt:Auth:Jwt:JwksPath names a file that does not exist.")
            .Validate(o => o.Jwt.Secret is not { Length: > 0 } secret || System.Text.Encoding.UTF8.GetByteCount(secret) >= 32, "Mqtt:Auth:Jwt:Secret must be at least 32 bytes (HS256).");
        services.AddSingleton<ServerCertificate>();
        services.AddSingleton<JwtAuthenticator>();
        services.AddSingleton<ConnectAuthenticator>();
        services.AddSingleton<Authorizer>();
        services.AddSingleton<WebSocketEndpoint>();
        services.AddTransient<IStartupFilter, WebSocketStartupFilter>();
        services.AddHostedService<EdgeReport>();
        return services;
    }

    /// <summary>The MQTT over TLS listener, when <c>Mqtt:Tls:Enabled</c>.</summary>
    public static void ListenTls(KestrelServerOptions kestrel)
    {
        var tls = kestrel.ApplicationServices.GetRequiredService<IOptions<TlsOptions>>().Value;
        if (tls.Enabled)
        {
            var certificate = kestrel.ApplicationServices.GetRequiredService<ServerCertificate>();
            kestrel.Listen(IPAddress.Parse(tls.Address), tls.Port, listen =>
            {
                listen.UseHttps(certificate.HttpsOptions());
                listen.UseConnectionHandler<MqttConnectionHandler>();
            });
        }
    }

    /// <summary>TLS on the HTTP listener (https, wss), when <c>Mqtt:Http:Tls</c>.</summary>
    public static void UseHttpTls(ListenOptions listen, GatewayOptions options)
    {
        if (options.Http.Tls)
        {
            listen.UseHttps(listen.ApplicationServices.GetRequiredService<ServerCertificate>().HttpsOptions());
        }
    }

    private sealed class WebSocketStartupFilter(IOptions<WebSocketOptions> options, WebSocketEndpoint endpoint) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            if (options.Value.Enabled)
            {
                app.UseWebSockets();
                app.Map(options.Value.Path, branch => branch.Run(endpoint.AcceptAsync));
            }

            next(app);
        };
    }
}

/// <summary>
/// <c>GET /mqtt</c> with a WebSocket upgrade and subprotocol <c>mqtt</c> [MQTT-6.0.0-3]: the WebSocket becomes an
/// MQTT connection like any other.
/// </summary>
public sealed class WebSocketEndpoint(IServiceProvider services)
{
    private static readonly string[] Subprotocols = ["mqtt", "mqttv3.1"];

    private readonly Lazy<MqttConnectionHandler> _handler = new(() => ActivatorUtilities.CreateInstance<MqttConnectionHandler>(services));

    public async Task AcceptAsync(HttpContext http)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await http.Response.WriteAsync("MQTT over WebSocket: connect with a WebSocket client and subprotocol mqtt\n");
            return;
        }

        var subprotocol = http.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(p => Subprotocols.Contains(p, StringComparer.OrdinalIgnoreCase));
        if (subprotocol is null)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync("MQTT over WebSocket needs the subprotocol mqtt\n");
            return;
        }

        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subprotocol });
        await new WebSocketConnection(socket, http).RunAsync(_handler.Value.OnConnectedAsync);
    }
}
