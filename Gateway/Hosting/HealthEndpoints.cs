using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;

namespace OrleansMqtt.Gateway;

/// <summary>
/// <c>GET /healthz</c>: 200 while the process runs (liveness). <c>GET /readyz</c>: 200 when the cluster is reachable,
/// 503 otherwise (readiness). Served on the <c>Mqtt:Http</c> listener, the only HTTP listener of the program.
/// </summary>
public static class HealthEndpoints
{
    public const string LivePath = "/healthz";
    public const string ReadyPath = "/readyz";
    private const string ReadyTag = "ready";

    public static IServiceCollection AddMqttHealthEndpoints(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ClusterReadinessCheck>("cluster", tags: [ReadyTag]);

        // A startup filter, so both programs (Silo and Gateway) get the endpoints from AddMqttGateway alone.
        services.AddTransient<IStartupFilter, HealthStartupFilter>();
        return services;
    }

    private sealed class HealthStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false });
            app.UseHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
            next(app);
        };
    }
}
