using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Gateway;
using OrleansMqtt.Silo;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// Blob state (the subscription index, retained messages, leases, sessions on AzureBlob) goes to a container named by
/// the service id, so that two deployments on one storage account keep apart.
/// </summary>
public sealed class StateContainerTests
{
    private static readonly string[] SimilarServiceIds = ["Fleet", "FLEET", "fleet", "fleet_", "fleet.", "fleet-"];

    [Theory]
    [InlineData("orleans-mqtt", "mqtt-state")]
    [InlineData("staging", "mqtt-state-staging")]
    [InlineData("fleet-eu-2", "mqtt-state-fleet-eu-2")]
    public void A_service_id_that_is_a_container_name_names_the_container_as_it_is(string serviceId, string container) =>
        Assert.Equal(container, new ClusterSettings { ServiceId = serviceId }.StateContainerName);

    [Theory]
    [InlineData("Staging")]
    [InlineData("fleet_EU")]
    [InlineData("__")]
    [InlineData("a--b")]
    [InlineData("a-service-id-far-longer-than-a-blob-container-name-may-be-so-it-is-cut")]
    public void Any_other_service_id_gets_a_valid_container_name_of_its_own(string serviceId)
    {
        var name = new ClusterSettings { ServiceId = serviceId }.StateContainerName;
        Assert.Null(ClusterSettings.ContainerNameProblem(name));
        Assert.StartsWith("mqtt-state-", name, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_ids_that_differ_only_in_case_or_punctuation_do_not_share_a_container()
    {
        var names = SimilarServiceIds.Select(id => new ClusterSettings { ServiceId = id }.StateContainerName).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void The_container_can_be_named_in_settings()
    {
        var settings = new ClusterSettings { ServiceId = "staging", StateContainer = "mqtt-state" };
        Assert.Equal("mqtt-state", settings.StateContainerName);
    }

    [Fact]
    public async Task A_state_container_that_Azure_would_refuse_stops_the_broker_at_start_with_a_message_that_says_why()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Orleans:StateContainer"] = "Mqtt_State" }));
        Assert.Contains("Orleans:StateContainer 'Mqtt_State' is not a blob container name: it may hold only lower-case letters, digits and hyphens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_deployments_on_one_storage_account_see_neither_the_sessions_nor_the_retained_messages_of_the_other()
    {
        var azurite = await Azurite.SharedAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        Dictionary<string, string?> Deployment(string name) => new()
        {
            ["Orleans:ServiceId"] = $"{name}-{id}",
            ["Orleans:Persistence"] = "AzureBlob",
            ["Orleans:Reminders"] = "AzureTable",
            ["Azure:Storage:ConnectionString"] = azurite.ConnectionString,
        };

        var device = $"device-{id}";
        await using (var production = await EmbeddedBroker.StartAsync(Deployment("production")))
        {
            await using (var client = await TestClient.ConnectAsync(production.Port, device, MqttProtocolVersion.V500, o => o.WithCleanStart(true).WithSessionExpiryInterval(3600)))
            {
                await client.SubscribeAsync($"cmd/{id}", MqttQualityOfServiceLevel.AtLeastOnce);
                await client.PublishAsync($"state/{id}", "production", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
                await client.DisconnectAsync();
            }

            await production.Grains.WaitUntilOfflineAsync(device);
            await using var operator1 = await TestClient.ConnectAsync(production.Port, $"operator-{id}", MqttProtocolVersion.V500);
            await operator1.PublishAsync($"cmd/{id}", "for production's device", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await using (var staging = await EmbeddedBroker.StartAsync(Deployment("staging")))
        {
            // The same client id, and a retained message on its own topic: staging starts from nothing.
            await using var client = await TestClient.ConnectAsync(staging.Port, device, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
            Assert.False(client.ConnectResult.IsSessionPresent, "staging found production's session");
            await client.PublishAsync($"state/{id}", "staging", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
            await using var watcher = await TestClient.ConnectAsync(staging.Port, $"watcher-{id}", MqttProtocolVersion.V500);
            await watcher.SubscribeAsync($"state/{id}", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("staging", (await watcher.ReceiveAsync("staging's retained message")).Text());
            await client.DisconnectAsync();
        }

        await using (var production = await EmbeddedBroker.StartAsync(Deployment("production")))
        {
            // Production, restarted, has its session with the message queued for it, and its own retained message.
            await using var client = await TestClient.ConnectAsync(production.Port, device, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
            Assert.True(client.ConnectResult.IsSessionPresent, "production lost its session");
            Assert.Equal("for production's device", (await client.ReceiveAsync("the message queued while the device was offline")).Text());
            await using var watcher = await TestClient.ConnectAsync(production.Port, $"watcher-{id}", MqttProtocolVersion.V500);
            await watcher.SubscribeAsync($"state/{id}", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("production", (await watcher.ReceiveAsync("production's retained message")).Text());
        }
    }

    [Fact]
    public async Task A_deployment_whose_container_is_new_is_told_when_the_shared_container_of_earlier_versions_is_there()
    {
        var azurite = await Azurite.SharedAsync();
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        var id = Guid.NewGuid().ToString("N")[..8];
        // A container of its own stands for mqtt-state here, since other tests share this account.
        var shared = $"shared-{id}";
        var container = $"mqtt-state-fleet-{id}";
        var check = new StateContainerCheck(blobs, container, shared, NullLogger<StateContainerCheck>.Instance);

        Assert.Null(await check.WarningAsync(CancellationToken.None));

        await blobs.GetBlobContainerClient(shared).CreateAsync();
        var warning = await check.WarningAsync(CancellationToken.None);
        Assert.NotNull(warning);
        Assert.Contains($"Orleans:StateContainer={shared}", warning, StringComparison.Ordinal);
        Assert.Contains($"'{container}'", warning, StringComparison.Ordinal);

        // Once its own container is there, the deployment has started on it before: nothing more to say.
        await blobs.GetBlobContainerClient(container).CreateAsync();
        Assert.Null(await check.WarningAsync(CancellationToken.None));
        Assert.Null(await new StateContainerCheck(blobs, shared, shared, NullLogger<StateContainerCheck>.Instance).WarningAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_broker_tells_the_operator_once_at_start_when_only_the_shared_container_of_earlier_versions_is_there()
    {
        var azurite = await Azurite.SharedAsync();
        await new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(ClusterSettings.SharedStateContainer).CreateIfNotExistsAsync();
        var serviceId = $"fleet-{Guid.NewGuid().ToString("N")[..8]}";
        var settings = new Dictionary<string, string?>
        {
            ["Orleans:ServiceId"] = serviceId,
            ["Orleans:Persistence"] = "AzureBlob",
            ["Azure:Storage:ConnectionString"] = azurite.ConnectionString,
        };
        var container = new ClusterSettings { ServiceId = serviceId }.StateContainerName;

        var first = new LogRecorder();
        await using (await EmbeddedBroker.StartAsync(settings, silo => silo.Services.AddSingleton<ILoggerProvider>(first)))
        {
            var warning = Assert.Single(first.Messages(LogLevel.Warning), m => m.Contains(ClusterSettings.SharedStateContainer, StringComparison.Ordinal));
            Assert.Contains($"'{container}'", warning, StringComparison.Ordinal);
            Assert.Contains($"Orleans:StateContainer={ClusterSettings.SharedStateContainer}", warning, StringComparison.Ordinal);
        }

        // Started once, it has its own container: the next start has nothing to say.
        var second = new LogRecorder();
        await using (await EmbeddedBroker.StartAsync(settings, silo => silo.Services.AddSingleton<ILoggerProvider>(second)))
        {
            Assert.DoesNotContain(second.Messages(LogLevel.Warning), m => m.Contains(ClusterSettings.SharedStateContainer, StringComparison.Ordinal));
        }
    }

    private static async Task StartAsync(Dictionary<string, string?> settings)
    {
        await using var broker = await EmbeddedBroker.StartAsync(settings);
    }
}
