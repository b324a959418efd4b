using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// A test cluster of two silos configured as the broker's silo is (memory storage for the MQTT grains, in-memory
/// reminders with a one-second minimum period), shared by the grain tests; each test uses its own client ids and topics.
/// Orleans places grains at random, so a test with several sessions spreads them over both silos.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<MqttSiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    public ISessionGrain Session(string clientId) => Client.GetGrain<ISessionGrain>(clientId);

    public ITopicGrain Topic(string topic) => Client.GetGrain<ITopicGrain>(topic);

    /// <summary>Publishes one message as a gateway would; returns how many subscriptions matched.</summary>
    public Task<int> PublishAsync(string topic, string payload, byte qos = 1, bool retain = false) =>
        Topic(topic).Publish([Messages.Create(topic, payload, qos, retain)]);

    /// <summary>Polls the session every 100 ms until <paramref name="condition"/> holds, or fails naming what was awaited.</summary>
    public async Task<SessionInfo> WaitForSessionAsync(string clientId, Func<SessionInfo, bool> condition, string awaited)
    {
        var deadline = DateTime.UtcNow + RecordingGateway.Patience;
        while (true)
        {
            var info = await Session(clientId).GetInfo();
            if (condition(info))
            {
                return info;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The session of {clientId} did not {awaited} within {RecordingGateway.Patience.TotalSeconds} s (last seen: {info})");
            }

            await Task.Delay(100);
        }
    }
}

public sealed class MqttSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder)
    {
        // The broker's silo's own memory storage, as in the embedded broker.
        MemoryStateStorage.Add(siloBuilder.Services, StorageNames.Mqtt);
        MemoryStateStorage.Add(siloBuilder.Services, StorageNames.Index);
        siloBuilder.UseInMemoryReminderService();
        siloBuilder.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        siloBuilder.Services.AddMqttGrains(new ConfigurationBuilder().Build());
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "two-silo grain cluster";
}

public static class Names
{
    /// <summary>A name no other test uses, usable as a client id or a topic level.</summary>
    public static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N");
}
