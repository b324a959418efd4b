using OrleansMqtt.Gateway;

// A standalone gateway: terminates MQTT and joins the silos as an Orleans client.
var builder = WebApplication.CreateBuilder(args);
var cluster = builder.Configuration.GetClusterSettings();
builder.UseOrleansClient(client =>
{
    client.Configure<Orleans.Configuration.ClusterOptions>(o =>
    {
        o.ClusterId = cluster.ClusterId;
        o.ServiceId = cluster.ServiceId;
    });
    client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
    client.UseConnectionRetryFilter<ClusterConnectionRetry>();
});
builder.AddMqttGateway();
builder.Build().Run();
