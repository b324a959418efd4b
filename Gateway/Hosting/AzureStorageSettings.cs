using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The Azure Storage account of the Azure providers (section <c>Azure</c>): a connection string (Azurite, development)
/// or service URIs reached with <c>DefaultAzureCredential</c> (managed identity in the cloud; no keys in configuration).
/// </summary>
public sealed class AzureStorageSettings
{
    public const string Section = "Azure";

    public AzureStorageEndpoints Storage { get; set; } = new();

    /// <summary>Client id of a user-assigned managed identity for <c>DefaultAzureCredential</c>; optional.</summary>
    public string? ClientId { get; set; }

    public static AzureStorageSettings From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<AzureStorageSettings>() ?? new AzureStorageSettings();

    /// <summary>Checks that every Azure provider chosen in <paramref name="cluster"/> can reach its service.</summary>
    public void Validate(ClusterSettings cluster, bool isSilo)
    {
        var errors = new List<string>();
        var needsTables = isSilo ? cluster.UsesAzureTables : cluster.Clustering == ClusteringKind.AzureTable;
        if (needsTables && !HasTables)
        {
            errors.Add($"Orleans:{Chosen(cluster, isSilo)} is AzureTable but neither Azure:Storage:ConnectionString nor Azure:Storage:TableServiceUri is set.");
        }

        if (isSilo && cluster.Persistence == PersistenceKind.AzureBlob && !HasBlobs)
        {
            errors.Add("Orleans:Persistence is AzureBlob but neither Azure:Storage:ConnectionString nor Azure:Storage:BlobServiceUri is set.");
        }

        if (isSilo && cluster.Persistence == PersistenceKind.AzureTable && !HasBlobs)
        {
            errors.Add("Orleans:Persistence is AzureTable, which keeps sessions in tables and the subscription index, retained messages and gateway leases in blobs (an entity holds 1 MB, too little for them), but neither Azure:Storage:ConnectionString nor Azure:Storage:BlobServiceUri is set.");
        }

        foreach (var (name, value) in new[] { ("TableServiceUri", Storage.TableServiceUri), ("BlobServiceUri", Storage.BlobServiceUri), ("QueueServiceUri", Storage.QueueServiceUri) })
        {
            if (!string.IsNullOrWhiteSpace(value) && !Uri.TryCreate(value, UriKind.Absolute, out _))
            {
                errors.Add($"Azure:Storage:{name} '{value}' is not an absolute URI.");
            }
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Section, typeof(AzureStorageSettings), errors);
        }
    }

    public bool HasTables => !string.IsNullOrWhiteSpace(Storage.ConnectionString) || !string.IsNullOrWhiteSpace(Storage.TableServiceUri);

    public bool HasBlobs => !string.IsNullOrWhiteSpace(Storage.ConnectionString) || !string.IsNullOrWhiteSpace(Storage.BlobServiceUri);

    /// <summary>The credential for service URIs: managed identity in the cloud, developer sign-in elsewhere.</summary>
    public TokenCredential Credential() => new DefaultAzureCredential(new DefaultAzureCredentialOptions
    {
        ManagedIdentityClientId = string.IsNullOrWhiteSpace(ClientId) ? null : ClientId,
    });

    /// <summary>The connection string wins over the URI when both are set (Azurite in development).</summary>
    public TableServiceClient CreateTableServiceClient() => !string.IsNullOrWhiteSpace(Storage.ConnectionString)
        ? new TableServiceClient(Storage.ConnectionString)
        : new TableServiceClient(new Uri(Storage.TableServiceUri!), Credential());

    private static string Chosen(ClusterSettings cluster, bool isSilo) => string.Join(", Orleans:", new[]
    {
        cluster.Clustering == ClusteringKind.AzureTable ? "Clustering" : null,
        isSilo && cluster.Persistence == PersistenceKind.AzureTable ? "Persistence" : null,
        isSilo && cluster.Reminders == RemindersKind.AzureTable ? "Reminders" : null,
    }.Where(s => s is not null));
}

public sealed class AzureStorageEndpoints
{
    /// <summary>An account connection string (Azurite: <c>UseDevelopmentStorage=true</c> or explicit endpoints).</summary>
    public string? ConnectionString { get; set; }

    public string? TableServiceUri { get; set; }

    public string? BlobServiceUri { get; set; }

    /// <summary>For the queue bridges; validated here so one storage section serves every feature.</summary>
    public string? QueueServiceUri { get; set; }
}
