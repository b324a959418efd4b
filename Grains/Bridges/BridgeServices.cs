using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Grains;

public static class BridgeServices
{
    /// <summary>
    /// The queue bridges of <c>Mqtt:Bridges</c>, validated now: a bad rule stops the silo with a message naming the
    /// setting. Off (nothing registered) unless a rule is configured. The storage account falls back to
    /// <paramref name="connectionString"/> or <paramref name="serviceUri"/> (the silo's <c>Azure:Storage</c>).
    /// </summary>
    public static IServiceCollection AddMqttBridges(this IServiceCollection services, IConfiguration configuration, string? connectionString, string? serviceUri, Func<TokenCredential> credential)
    {
        var section = configuration.GetSection(BridgeOptions.Section);
        var settings = section.Get<BridgeOptions>() ?? new BridgeOptions();
        Fallback(settings, connectionString, serviceUri);
        if (settings.Errors().ToList() is { Count: > 0 } errors)
        {
            throw new OptionsValidationException(BridgeOptions.Section, typeof(BridgeOptions), errors);
        }

        services.AddOptions<BridgeOptions>().Bind(section).PostConfigure(o => Fallback(o, connectionString, serviceUri));
        if (!settings.Enabled)
        {
            return services;
        }

        services.AddSingleton(sp => new BridgeQueues(sp.GetRequiredService<IOptions<BridgeOptions>>(), credential));
        services.AddHostedService<BridgeStarter>();
        return services;
    }

    private static void Fallback(BridgeOptions options, string? connectionString, string? serviceUri)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString) && string.IsNullOrWhiteSpace(options.ServiceUri))
        {
            options.ConnectionString = connectionString;
            options.ServiceUri = serviceUri;
        }
    }
}
