using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansMqtt.Grains;

public static class ObservabilityServices
{
    /// <summary>The silo's side of metrics and $SYS: the gauges and the <c>Mqtt:Sys</c> settings.</summary>
    public static IServiceCollection AddMqttGrainObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SysOptions>().Bind(configuration.GetSection(SysOptions.Section))
            .Validate(o => o.Interval > TimeSpan.Zero, "Mqtt:Sys:Interval must be positive.")
            .Validate(o => o.GatewayTimeout > TimeSpan.Zero, "Mqtt:Sys:GatewayTimeout must be positive.")
            .ValidateOnStart();
        SiloMetrics.EnsureCreated();
        return services;
    }
}
