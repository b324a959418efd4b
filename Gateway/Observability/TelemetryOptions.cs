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

/// <summary>The admin API and dashboard (section <c>Mqtt:Admin</c>); off unless a token or Entra ID is configured.</summary>
public sealed class AdminOptions
{
    public const string Section = "Mqtt:Admin";

    /// <summary>The bearer token of the admin API and dashboard. Unset (and no Entra ID): neither is served.</summary>
    public string? Token { get; set; }

    /// <summary>Microsoft Entra ID access tokens accepted by the admin API, besides <see cref="Token"/>.</summary>
    public EntraOptions Entra { get; set; } = new();

    public bool Enabled => !string.IsNullOrEmpty(Token) || Entra.Enabled;
}

/// <summary>
/// Entra ID (or any OpenID Connect issuer): access tokens from <see cref="Authority"/> for <see cref="Audience"/>,
/// carrying the app role <see cref="Role"/> when one is named, are accepted by the admin API.
/// </summary>
public sealed class EntraOptions
{
    /// <summary>The issuer, e.g. <c>https://login.microsoftonline.com/{tenant-id}/v2.0</c>; its metadata is fetched from there.</summary>
    public string? Authority { get; set; }

    /// <summary>The admin API's application id URI or client id, as the token's <c>aud</c>.</summary>
    public string? Audience { get; set; }

    /// <summary>An app role the caller must have (<c>roles</c> claim), e.g. <c>Mqtt.Admin</c>; unset: any token of the audience.</summary>
    public string? Role { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) && !string.IsNullOrWhiteSpace(Audience);
}
