using System.Net;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Infra;

/// <summary>
/// A silo and a gateway started with the environment variables infra/ gives the containers (Azure Table clustering,
/// state and reminders), with Azurite standing in for the storage account. Only what cannot be the same on one
/// machine is replaced: ports (free ones), the storage account (Azurite, by connection string, which wins over the
/// service URIs), the identity, and the advertised address: <c>auto</c> would pick this machine's own network address,
/// and these tests send traffic only to 127.0.0.1.
/// </summary>
public sealed class CloudProfileTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_silo_and_a_gateway_with_the_cloud_settings_exchange_messages_and_report_ready()
    {
        var azurite = await Azurite.SharedAsync();
        var deployment = await DeploymentSettingsAsync(azurite);
        var ports = FreePorts.Get(5);

        var siloEnv = Environment("silo", deployment);
        siloEnv["Orleans__SiloPort"] = ports[0].ToString();
        siloEnv["Orleans__GatewayPort"] = ports[1].ToString();
        siloEnv["Orleans__AdvertisedIPAddress"] = "127.0.0.1";
        siloEnv["Mqtt__Http__Port"] = ports[2].ToString();
        Assert.Equal("false", siloEnv["Mqtt__Tcp__Enabled"]);
        await using var silo = await BrokerProcess.StartAsync("Silo", siloEnv);

        // The cloud profile refuses anonymous clients: the gateway gets a password file, as an operator would give it.
        var users = Path.Combine(Path.GetTempPath(), $"cloud-users-{Guid.NewGuid():N}");
        OrleansMqtt.Gateway.PasswordFile.SetUser(users, "device", "device password", iterations: 4096);
        var gatewayEnv = Environment("gateway", deployment);
        Assert.Equal("false", gatewayEnv["Mqtt__Auth__AllowAnonymous"]);
        gatewayEnv["Mqtt__Tcp__Port"] = ports[3].ToString();
        gatewayEnv["Mqtt__Http__Port"] = ports[4].ToString();
        gatewayEnv["Mqtt__Auth__PasswordFile"] = users;
        await using var gateway = await BrokerProcess.StartAsync("Gateway", gatewayEnv);

        var anonymous = new MQTTnet.MqttClientFactory().CreateMqttClient();
        var refused = await anonymous.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", ports[3]).WithClientId("anon-" + Guid.NewGuid().ToString("N")).Build());
        Assert.Equal(MQTTnet.MqttClientConnectResultCode.NotAuthorized, refused.ResultCode);
        anonymous.Dispose();

        var topic = $"cloud/{Guid.NewGuid():N}";
        await using var subscriber = await TestClient.ConnectAsync(ports[3], "sub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500, b => b.WithCredentials("device", "device password"));
        await subscriber.SubscribeAsync(topic + "/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(ports[3], "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V311, b => b.WithCredentials("device", "device password"));
        await publisher.PublishAsync(topic + "/temp", "21.5", MqttQualityOfServiceLevel.AtLeastOnce);
        var message = await subscriber.ReceiveAsync("the message published through the cloud-configured gateway");
        Assert.Equal((topic + "/temp", "21.5"), (message.Topic, message.Text()));

        foreach (var httpPort in new[] { ports[2], ports[4] })
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = Patience };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        }

        File.Delete(users);
    }

    /// <summary>The static settings of the role from infra/app-settings.json, then the per-deployment ones.</summary>
    private static Dictionary<string, string> Environment(string role, Dictionary<string, string> deployment)
    {
        var env = CloudProfile.StaticSettings(role);
        foreach (var (name, value) in deployment)
        {
            env[name] = value;
        }

        return env;
    }

    /// <summary>Local values for every per-deployment setting the compiled template sets; an unknown one fails the test.</summary>
    private static async Task<Dictionary<string, string>> DeploymentSettingsAsync(Azurite azurite)
    {
        var endpoints = azurite.ConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var id = "cloud-" + Guid.NewGuid().ToString("N");
        var local = new Dictionary<string, string>
        {
            ["clusterId"] = id,
            ["serviceId"] = id,
            ["identityClientId"] = Guid.Empty.ToString(),
            ["tableServiceUri"] = endpoints["TableEndpoint"],
            ["blobServiceUri"] = endpoints["BlobEndpoint"],
            ["queueServiceUri"] = endpoints["QueueEndpoint"],

            // No Application Insights here: an empty connection string exports nowhere.
            ["appInsightsConnectionString"] = "",
        };
        var settings = CloudProfile.DeploymentSettingNames(await BicepCli.CompiledMainAsync())
            .ToDictionary(s => s.Key, s => local.TryGetValue(s.Value, out var value) ? value : throw new InvalidOperationException($"No local value for {s.Key} ({s.Value})"));
        settings["Azure__Storage__ConnectionString"] = azurite.ConnectionString;
        return settings;
    }
}
