using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Gateway;

/// <summary>How silos and gateways find each other and where state lives (section <c>Orleans</c>; environment <c>Orleans__...</c>).</summary>
public sealed class ClusterSettings : IValidatableObject
{
    public const string Section = "Orleans";

    [Required]
    public string ClusterId { get; set; } = "orleans-mqtt";

    [Required]
    public string ServiceId { get; set; } = "orleans-mqtt";

    /// <summary>Localhost: one machine, silos found at fixed ports (the embedded default). AzureTable: a membership table.</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    /// <summary>Where grain state (sessions, subscriptions, retained messages, leases) is stored.</summary>
    public PersistenceKind Persistence { get; set; } = PersistenceKind.Memory;

    /// <summary>Where reminders (will delay, session expiry, gateway leases) are stored.</summary>
    public RemindersKind Reminders { get; set; } = RemindersKind.Memory;

    /// <summary>The IP address this silo advertises (an address, or <c>auto</c>); empty lets Orleans choose.</summary>
    public string? AdvertisedIPAddress { get; set; }

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

    /// <summary>Any Azure provider is selected, so Azure Storage settings are needed.</summary>
    public bool UsesAzureTables => Clustering == ClusteringKind.AzureTable || Persistence == PersistenceKind.AzureTable || Reminders == RemindersKind.AzureTable;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinimumReminderPeriod <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Orleans:MinimumReminderPeriod must be positive.", [nameof(MinimumReminderPeriod)]);
        }
    }
}

public enum ClusteringKind
{
    Localhost,
    AzureTable,
}

public enum PersistenceKind
{
    Memory,
    AzureTable,
    AzureBlob,
}

public enum RemindersKind
{
    Memory,
    AzureTable,
}
