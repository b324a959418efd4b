using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

public static class GatewayHosting
{
    /// <summary>The gateway's services, validated settings and listeners, for a standalone gateway or a silo.</summary>
    public static WebApplicationBuilder AddMqttGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.Section)).Validate(
            o => o.PasswordFile is not { Length: > 0 } path || File.Exists(path), "Mqtt:Auth:PasswordFile names a file that does not exist.").ValidateOnStart();
        services.AddOptions<LimitsOptions>().Bind(builder.Configuration.GetSection(LimitsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConnectionLimits>();
        services.AddSingleton<IEnhancedAuthenticator, ScramSha256Authenticator>();
        services.AddSingleton<ConnectionIds>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<GatewayObserver>();
        services.AddSingleton<GatewayEndpoint>();
        services.AddSingleton<OrleansMqtt.Grains.ILocalGateway>(sp => sp.GetRequiredService<GatewayEndpoint>());
        services.AddSingleton<MqttTcpListener>();
        services.AddHostedService<ConnectionSweeper>();
        services.AddHostedService<MemoryTrim>();
        services.AddHostedService<GatewayLifetime>();
        var lease = builder.Configuration.GetLeaseOptions();
        services.AddSingleton(Options.Create(lease));
        services.AddHostedService<LeaseRenewal>();
        services.AddHostedService<SessionHostWatch>();
        services.AddMqttHealthEndpoints();
        builder.AddMqttObservability();
        services.AddMqttEdge(builder.Configuration);
        builder.WebHost.ConfigureKestrel(ListenMqtt);
        return builder;
    }

    public static ClusterSettings GetClusterSettings(this IConfiguration configuration)
    {
        var settings = configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
        var errors = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(settings, new(settings), errors, validateAllProperties: true))
        {
            throw new OptionsValidationException(ClusterSettings.Section, typeof(ClusterSettings), errors.Select(e => e.ErrorMessage is { } m && m.StartsWith("Orleans:", StringComparison.Ordinal) ? m : "Orleans: " + e.ErrorMessage));
        }

        return settings;
    }

    private static void ListenMqtt(KestrelServerOptions kestrel)
    {
        var options = kestrel.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value;
        // MQTT over plain TCP has a listener of its own (MqttTcpListener); Kestrel serves TLS, WebSocket and HTTP.
        if (options.Http.Enabled)
        {
            kestrel.Listen(IPAddress.Parse(options.Http.Address), options.Http.Port, listen => TransportHosting.UseHttpTls(listen, options));
        }

        TransportHosting.ListenTls(kestrel);

        if (!options.Http.Enabled && !kestrel.ApplicationServices.GetRequiredService<IOptions<TlsOptions>>().Value.Enabled)
        {
            // Kestrel with no endpoint binds localhost:5000, and a second such broker on the machine would fail to
            // start: a port of the system's choosing on loopback serves nothing and collides with nothing.
            kestrel.Listen(IPAddress.Loopback, 0);
        }
    }
}
