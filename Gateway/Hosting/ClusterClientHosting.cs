using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

public static class ClusterClientHosting
{
    /// <summary>A standalone gateway's Orleans client: the cluster it joins, found as the silos are (localhost or Azure Table).</summary>
    public static IClientBuilder AddMqttClusterClient(this IClientBuilder client, IConfiguration configuration)
    {
        var cluster = configuration.GetClusterSettings();
        var azure = AzureStorageSettings.From(configuration);
        azure.Validate(cluster, isSilo: false);
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });

        if (cluster.Clustering == ClusteringKind.AzureTable)
        {
            client.UseAzureStorageClustering(o => o.TableServiceClient = azure.CreateTableServiceClient());

            // Silos that join or leave are learnt from the membership table this often.
            client.Configure<Orleans.Configuration.GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        }
        else
        {
            client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
        }

        client.UseConnectionRetryFilter<ClusterConnectionRetry>();
        return client;
    }

    /// <summary>Lease timing, validated at start.</summary>
    public static LeaseOptions GetLeaseOptions(this IConfiguration configuration)
    {
        var lease = configuration.GetSection(LeaseOptions.Section).Get<LeaseOptions>() ?? new LeaseOptions();
        if (lease.Errors().ToList() is { Count: > 0 } errors)
        {
            throw new OptionsValidationException(LeaseOptions.Section, typeof(LeaseOptions), errors);
        }

        return lease;
    }
}
