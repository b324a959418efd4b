using System.Net;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using OrleansMqtt.Gateway;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Silo;

public static class SiloHosting
{
    /// <summary>Clustering, storage and reminders from settings, and the MQTT grains.</summary>
    public static ISiloBuilder AddMqttSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var cluster = configuration.GetClusterSettings();
        var azure = AzureStorageSettings.From(configuration);
        azure.Validate(cluster, isSilo: true);
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });

        var advertised = AdvertisedAddress.Resolve(cluster.AdvertisedIPAddress);
        switch (cluster.Clustering)
        {
            case ClusteringKind.AzureTable:
                silo.ConfigureEndpoints(advertised ?? IPAddress.Loopback, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: advertised is not null && !IPAddress.IsLoopback(advertised));
                silo.UseAzureStorageClustering(o => o.TableServiceClient = azure.CreateTableServiceClient());
                break;
            default:
                var primary = cluster.SiloPort == cluster.PrimarySiloPort ? null : new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort);
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
                break;
        }

        // Membership timing (probe timeouts, votes) can be tuned under Orleans:Membership; fault tests shorten it.
        silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));

        // Stored state uses the Orleans binary serializer (in memory too): compact, and it carries every [GenerateSerializer] type
        // (payloads as bytes, observer references) that JSON would not.
        switch (cluster.Persistence)
        {
            case PersistenceKind.AzureTable:
                // Sessions in table MqttState, their messages in pages of their own (SessionTableStorage); the
                // records that grow with the fleet in blobs, which have no bound of one entity (StorageNames.Index).
                SessionTableStorage.Add(silo.Services, StorageNames.Mqtt, _ => azure.CreateTableServiceClient().GetTableClient("MqttState"));
                silo.Services.LimitStoredRecordsTo(Grains.SessionOptions.AzureTableRecordLimit);
                AddBlobStorage(silo, StorageNames.Index, azure, cluster.StateContainerName);
                break;
            case PersistenceKind.AzureBlob:
                // Sessions paged once they hold many messages (SessionBlobStorage), the rest as Orleans' blob storage writes it.
                SessionBlobStorage.Add(silo.Services, StorageNames.Mqtt, _ => BlobService(azure).GetBlobContainerClient(cluster.StateContainerName));
                AddBlobStorage(silo, StorageNames.Index, azure, cluster.StateContainerName);
                break;
            default:
                MemoryStateStorage.Add(silo.Services, StorageNames.Mqtt);
                MemoryStateStorage.Add(silo.Services, StorageNames.Index);
                break;
        }

        if (cluster.Persistence is PersistenceKind.AzureTable or PersistenceKind.AzureBlob)
        {
            // One check of the service's blob container, whichever storages use it.
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services => new StateContainerCheck(
                BlobService(azure), cluster.StateContainerName, ClusterSettings.SharedStateContainer, services.GetRequiredService<ILogger<StateContainerCheck>>()));
        }

        silo.Services.TryAddSingleton<PooledGrainStorageSerializer>();
        if (cluster.Reminders == RemindersKind.AzureTable)
        {
            silo.UseAzureTableReminderService(o => o.TableServiceClient = azure.CreateTableServiceClient());
        }
        else
        {
            silo.UseInMemoryReminderService();
        }

        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = cluster.MinimumReminderPeriod);
        silo.Services.AddOptions<LeaseOptions>().Bind(configuration.GetSection(LeaseOptions.Section));
        var lease = configuration.GetSection(LeaseOptions.Section).Get<LeaseOptions>() ?? new LeaseOptions();
        if (lease.Errors().ToList() is { Count: > 0 } errors)
        {
            throw new OptionsValidationException(LeaseOptions.Section, typeof(LeaseOptions), errors);
        }

        silo.Services.AddMqttGrains(configuration);
        silo.Services.AddMqttGrainObservability(configuration);

        // Queue bridges (Mqtt:Bridges), on the silo's storage account unless they name their own.
        silo.Services.AddMqttBridges(configuration, azure.Storage.ConnectionString, azure.Storage.QueueServiceUri, azure.Credential);
        return silo;
    }

    /// <summary>
    /// Grain storage in the service's blob container (<see cref="ClusterSettings.StateContainerName"/>), each record a
    /// blob named by its state and grain.
    /// </summary>
    private static void AddBlobStorage(ISiloBuilder silo, string name, AzureStorageSettings azure, string container) =>
        silo.AddAzureBlobGrainStorage(name, options => options.Configure<IServiceProvider>((o, services) =>
        {
            o.BlobServiceClient = BlobService(azure);
            o.ContainerName = container;
            o.DeleteStateOnClear = true;
            o.GrainStorageSerializer = services.GetRequiredService<PooledGrainStorageSerializer>();
        }));

    private static BlobServiceClient BlobService(AzureStorageSettings azure) =>
        !string.IsNullOrWhiteSpace(azure.Storage.ConnectionString)
            ? new BlobServiceClient(azure.Storage.ConnectionString)
            : new BlobServiceClient(new Uri(azure.Storage.BlobServiceUri!), azure.Credential());
}
