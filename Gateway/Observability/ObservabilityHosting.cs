using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Metrics (OpenTelemetry: <c>/metrics</c> for Prometheus, OTLP and Azure Monitor when configured), the counters'
/// report to the cluster, and on the HTTP listener the admin API and dashboard when <c>Mqtt:Admin:Token</c> is set.
/// </summary>
public static class ObservabilityHosting
{
    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddMqttObservability(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section))
            .Validate(o => o.ReportInterval > TimeSpan.Zero, "Mqtt:Telemetry:ReportInterval must be positive.")
            .Validate(o => o.OtlpEndpoint is not { Length: > 0 } uri || Uri.TryCreate(uri, UriKind.Absolute, out _), "Mqtt:Telemetry:OtlpEndpoint is not an absolute URI.")
            .ValidateOnStart();
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section))
            .Validate(o => o.Entra.Authority is not { Length: > 0 } uri || Uri.TryCreate(uri, UriKind.Absolute, out _), "Mqtt:Admin:Entra:Authority is not an absolute URI.")
            .Validate(o => string.IsNullOrWhiteSpace(o.Entra.Authority) == string.IsNullOrWhiteSpace(o.Entra.Audience), "Mqtt:Admin:Entra needs both Authority and Audience.")
            .ValidateOnStart();
        BrokerMetrics.EnsureCreated();

        var telemetry = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = telemetry.OtlpEndpoint is { Length: > 0 } ? telemetry.OtlpEndpoint : configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var appInsights = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("orleans-mqtt", serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                // The broker's instruments, and the runtime's own (GC, thread pool, CPU), which .NET publishes for free.
                metrics.AddMeter(BrokerMetrics.MeterName, "System.Runtime");
                metrics.AddPrometheusExporter();
                if (!string.IsNullOrWhiteSpace(otlp))
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
                }

                if (!string.IsNullOrWhiteSpace(appInsights))
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = appInsights);
                }
            });

        var tcpEnabled = configuration.GetValue("Mqtt:Tcp:Enabled", true);
        if (tcpEnabled)
        {
            // Only a process with an MQTT listener has counters to report.
            services.AddHostedService<StatsReporter>();
        }

        services.AddRouting();
        if (configuration.GetSection(AdminOptions.Section).Get<AdminOptions>() is { Enabled: true } admin)
        {
            services.AddAdminApi(admin);
        }

        services.AddTransient<IStartupFilter, HttpEndpointsStartupFilter>();
        return builder;
    }

    /// <summary>After the health checks: <c>/metrics</c> always, <c>/admin</c> and <c>/dashboard</c> when enabled.</summary>
    private sealed class HttpEndpointsStartupFilter(Microsoft.Extensions.Options.IOptions<AdminOptions> admin) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseRouting();
            app.UseEndpoints(endpoints =>
            {
                endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
                if (admin.Value.Enabled)
                {
                    endpoints.MapAdminApi();
                    endpoints.MapDashboard();
                }
            });
            next(app);
        };
    }
}
