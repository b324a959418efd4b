using System.Net;
using Orleans.Configuration;
using OrleansMqtt.Gateway;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Silo;

public static class SiloHosting
{
    /// <summary>Clustering, storage and reminders from settings, and the MQTT grains.</summary>
    public static ISiloBuilder AddMqttSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var cluster = configuration.GetClusterSettings();
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });

        var primary = cluster.SiloPort == cluster.PrimarySiloPort ? null : new IPEndPoint(IPAddress.Loopback, cluster.PrimarySiloPort);
        silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primary, cluster.ServiceId, cluster.ClusterId);
        silo.AddMemoryGrainStorage(StorageNames.Mqtt);
        silo.UseInMemoryReminderService();
        silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = cluster.MinimumReminderPeriod);
        silo.Services.AddMqttGrains(configuration);
        return silo;
    }
}
