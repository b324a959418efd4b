using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace OrleansMqtt.Grains;

public static class BrokerServices
{
    /// <summary>What the grains need in a silo: their validated settings and the per-silo delivery batcher.</summary>
    public static IServiceCollection AddMqttGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateDataAnnotations()
            .Validate(o => o.ParkAfterIsValid, "Mqtt:Sessions:ParkAfter must be 0 (never park) or at least 00:00:01.").ValidateOnStart();
        services.AddSingleton<IValidateOptions<SessionOptions>, StorageRecordValidation>();

        // Quiet sessions are parked by Orleans' idle collection, at their own age; the collector looks often enough
        // to park them within a quarter of that age after it.
        services.AddOptions<GrainCollectionOptions>().Configure<IOptions<SessionOptions>>((o, sessions) =>
        {
            if (sessions.Value.ParkAfter is var parkAfter && parkAfter > TimeSpan.Zero)
            {
                o.ClassSpecificCollectionAge[typeof(SessionGrain).FullName!] = parkAfter;
                o.CollectionQuantum = Min(o.CollectionQuantum, parkAfter / 4);
            }
        });

        // A silo caches where each grain it routed to lives, until the entry goes unused for this long; the entry of a
        // session that parks is stale from then on. Half the park age drops it before the session parks (a grain that
        // is called keeps its entry).
        services.AddOptions<GrainDirectoryOptions>().Configure<IOptions<SessionOptions>>((o, sessions) =>
        {
            if (sessions.Value.ParkAfter is var parkAfter && parkAfter > TimeSpan.Zero)
            {
                o.MaximumCacheTTL = Min(o.MaximumCacheTTL, parkAfter / 2);
            }
        });

        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<GatewayDeliveryBatcher>();
        return services;
    }

    /// <summary>
    /// The silo's grain storage keeps records of at most <paramref name="bytes"/> (Azure Table storage): a session
    /// stores no message larger than one, names its messages in one, and refuses subscriptions that would outgrow it;
    /// queue bounds whose names would not fit are refused at start.
    /// </summary>
    public static IServiceCollection LimitStoredRecordsTo(this IServiceCollection services, long bytes) =>
        services.PostConfigure<SessionOptions>(o => o.StorageRecordLimit = bytes);

    private sealed class StorageRecordValidation : IValidateOptions<SessionOptions>
    {
        public ValidateOptionsResult Validate(string? name, SessionOptions options) =>
            options.StorageRecordError is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
