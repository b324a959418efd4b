using System.ComponentModel.DataAnnotations;

namespace OrleansMqtt.Gateway;

/// <summary>How silos and gateways find each other and where state lives (section <c>Orleans</c>; environment <c>Orleans__...</c>).</summary>
public sealed class ClusterSettings : IValidatableObject
{
    public const string Section = "Orleans";

    [Required]
    public string ClusterId { get; set; } = "orleans-mqtt";

    [Required]
    public string ServiceId { get; set; } = DefaultServiceId;

    /// <summary>Localhost: one machine, silos found at fixed ports (the embedded default). AzureTable: a membership table.</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    /// <summary>Where grain state (sessions, subscriptions, retained messages, leases) is stored.</summary>
    public PersistenceKind Persistence { get; set; } = PersistenceKind.Memory;

    /// <summary>
    /// The blob container of the state kept in blobs (the subscription index, retained messages, gateway leases, and
    /// sessions on <c>AzureBlob</c>). Empty: named by <see cref="ServiceId"/> (<see cref="StateContainerName"/>), so that
    /// deployments sharing a storage account keep apart.
    /// </summary>
    public string? StateContainer { get; set; }

    /// <summary>The container of the default service id, and of every deployment before containers were named by it.</summary>
    public const string SharedStateContainer = "mqtt-state";

    /// <summary>
    /// <see cref="StateContainer"/> when set; otherwise <c>mqtt-state</c> for the default service id (where its state
    /// has always been) and <c>mqtt-state-{service id}</c> for any other, the service id lower-cased with anything but
    /// letters and digits made a hyphen, and a hash of it added when that changed it or it was cut to fit 63
    /// characters, so that two service ids never share a container.
    /// </summary>
    public string StateContainerName => !string.IsNullOrWhiteSpace(StateContainer) ? StateContainer.Trim() : ContainerFor(ServiceId);

    private const string DefaultServiceId = "orleans-mqtt";

    private static string ContainerFor(string serviceId)
    {
        if (serviceId == DefaultServiceId)
        {
            return SharedStateContainer;
        }

        const string prefix = SharedStateContainer + "-";
        var slug = new System.Text.StringBuilder(serviceId.Length);
        foreach (var c in serviceId.ToLowerInvariant())
        {
            var keep = c is >= 'a' and <= 'z' or >= '0' and <= '9';
            if (keep || (slug.Length > 0 && slug[^1] != '-'))
            {
                slug.Append(keep ? c : '-');
            }
        }

        var name = slug.ToString().TrimEnd('-');
        if (name == serviceId && prefix.Length + name.Length <= MaxContainerName)
        {
            return prefix + name;
        }

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(serviceId)))[..8];
        name = name[..Math.Min(name.Length, MaxContainerName - prefix.Length - hash.Length - 1)].TrimEnd('-');
        return name.Length == 0 ? prefix + hash : prefix + name + "-" + hash;
    }

    private const int MaxContainerName = 63;

    /// <summary>Why <paramref name="name"/> cannot be an Azure blob container's name, or null when it can.</summary>
    public static string? ContainerNameProblem(string name) =>
        name.Length is < 3 or > MaxContainerName ? "must be 3 to 63 characters long"
        : !name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') ? "may hold only lower-case letters, digits and hyphens"
        : name[0] == '-' || name[^1] == '-' ? "must start and end with a letter or a digit"
        : name.Contains("--", StringComparison.Ordinal) ? "must not hold two hyphens in a row"
        : null;

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

        if (!string.IsNullOrWhiteSpace(StateContainer) && ContainerNameProblem(StateContainer.Trim()) is { } problem)
        {
            yield return new ValidationResult($"Orleans:StateContainer '{StateContainer}' is not a blob container name: it {problem}.", [nameof(StateContainer)]);
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
