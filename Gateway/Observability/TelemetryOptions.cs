namespace OrleansMqtt.Gateway;

/// <summary>Metrics export and cluster figures (section <c>Mqtt:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Mqtt:Telemetry";

    /// <summary>How often a gateway reports its counters to the cluster ($SYS, dashboard) and learns of traces.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>When set, metrics are also pushed over OTLP to this endpoint (or set OTEL_EXPORTER_OTLP_ENDPOINT).</summary>
    public string? OtlpEndpoint { get; set; }
}

/// <summary>The admin API and dashboard (section <c>Mqtt:Admin</c>); off unless a token is set.</summary>
public sealed class AdminOptions
{
    public const string Section = "Mqtt:Admin";

    /// <summary>The bearer token of the admin API and dashboard. Unset: neither is served.</summary>
    public string? Token { get; set; }

    public bool Enabled => !string.IsNullOrEmpty(Token);
}
