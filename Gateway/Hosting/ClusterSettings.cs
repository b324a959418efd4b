using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Gateway;

/// <summary>How silos and gateways find each other (section <c>Orleans</c>; environment <c>Orleans__...</c>).</summary>
public sealed class ClusterSettings
{
    public const string Section = "Orleans";

    [Required]
    public string ClusterId { get; set; } = "orleans-mqtt";

    [Required]
    public string ServiceId { get; set; } = "orleans-mqtt";

    /// <summary>Localhost: one machine, silos found at fixed ports (the embedded default).</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port gateways (Orleans clients) connect to.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Localhost clustering: the silo port of the first silo, which later silos join.</summary>
    [Range(1, 65535)]
    public int PrimarySiloPort { get; set; } = 11111;

    /// <summary>
    /// Shortest reminder period Orleans accepts. Will-delay and session-expiry reminders shorter than this fire
    /// at this granularity; tests lower it to seconds.
    /// </summary>
    public TimeSpan MinimumReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

public enum ClusteringKind
{
    Localhost,
}
