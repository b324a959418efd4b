using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace OrleansMqtt.Grains;

public static class BrokerServices
{
    /// <summary>What the grains need in a silo: their validated settings and the per-silo delivery batcher.</summary>
    public static IServiceCollection AddMqttGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<GatewayDeliveryBatcher>();
        return services;
    }
}
