using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMqtt.Gateway;
using OrleansMqtt.Silo;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// The embedded broker exactly as <c>dotnet run --project Silo</c> builds it (one silo with the gateway's listener),
/// in this process, on free ports of 127.0.0.1, with timings shortened for tests.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedBroker(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public IServiceProvider Services => _app.Services;

    public IGrainFactory Grains => _app.Services.GetRequiredService<IGrainFactory>();

    public static async Task<EmbeddedBroker> StartAsync(IDictionary<string, string?>? settings = null, Action<ISiloBuilder>? configureSilo = null)
    {
        var ports = FreePorts.Get(3);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mqtt:Tcp:Port"] = ports[0].ToString(),
            ["Mqtt:KeepAliveSweepInterval"] = "00:00:00.200",
            ["Orleans:SiloPort"] = ports[1].ToString(),
            ["Orleans:PrimarySiloPort"] = ports[1].ToString(),
            ["Orleans:GatewayPort"] = ports[2].ToString(),
            ["Orleans:ClusterId"] = "test-" + Guid.NewGuid().ToString("N"),
            ["Orleans:MinimumReminderPeriod"] = "00:00:01",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.AddMqttSilo(builder.Configuration);
            configureSilo?.Invoke(silo);
        });
        builder.AddMqttGateway();
        var app = builder.Build();
        await app.StartAsync();
        return new EmbeddedBroker(app, ports[0]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One embedded broker shared by the end-to-end tests; each test uses its own client ids and topics.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public EmbeddedBroker Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await EmbeddedBroker.StartAsync();

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class BrokerCollection : ICollectionFixture<BrokerFixture>
{
    public const string Name = "embedded broker";
}

public static class SessionWaits
{
    /// <summary>
    /// Waits until the broker has processed the end of the client's connection, so that a reconnect that follows
    /// is a new connection and not a take-over of one the broker still thinks is open.
    /// </summary>
    public static Task WaitUntilOfflineAsync(this IGrainFactory grains, string clientId) =>
        grains.WaitForSessionAsync(clientId, s => !s.Connected, "has no connection");

    public static async Task WaitForSessionAsync(this IGrainFactory grains, string clientId, Func<OrleansMqtt.Grains.SessionInfo, bool> condition, string awaited)
    {
        var session = grains.GetGrain<OrleansMqtt.Grains.ISessionGrain>(clientId);
        var deadline = DateTime.UtcNow + TestClient.Patience;
        while (!condition(await session.GetInfo()))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The session of {clientId} never {awaited} within {TestClient.Patience.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>
/// An embedded broker with the MQTT 5 settings an operator may change turned on and set low, so that tests can reach
/// their limits: Response Information, Server Keep Alive, a session expiry cap, small Receive Maximum, Topic Alias
/// Maximum, Maximum Packet Size and outbound queue.
/// </summary>
public sealed class ConfiguredBrokerFixture : IAsyncLifetime
{
    public const int ReceiveMaximum = 10;
    public const int TopicAliasMaximum = 5;
    public const int MaxPacketSize = 4096;
    public const int ServerKeepAlive = 30;
    public const uint MaximumSessionExpiry = 3600;
    public const string ResponsePrefix = "responses/";
    public const int MaxOutboundMessages = 50;

    public EmbeddedBroker Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
    {
        ["Mqtt:ReceiveMaximum"] = ReceiveMaximum.ToString(),
        ["Mqtt:TopicAliasMaximum"] = TopicAliasMaximum.ToString(),
        ["Mqtt:MaxPacketSize"] = MaxPacketSize.ToString(),
        ["Mqtt:ServerKeepAlive"] = ServerKeepAlive.ToString(),
        ["Mqtt:MaximumSessionExpiryInterval"] = MaximumSessionExpiry.ToString(),
        ["Mqtt:ResponseInformationPrefix"] = ResponsePrefix,
        ["Mqtt:MaxOutboundMessages"] = MaxOutboundMessages.ToString(),
    });

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ConfiguredBrokerCollection : ICollectionFixture<ConfiguredBrokerFixture>
{
    public const string Name = "configured broker";
}
