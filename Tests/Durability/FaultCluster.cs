using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// Two silos and two gateways as separate processes on 127.0.0.1, with Azure Table clustering, grain state and
/// reminders on the shared Azurite, and timings shortened for tests (1 s lease renewals, 3 s leases, membership
/// probes of 1 s). Tests kill and restart its processes; each test starts with <see cref="EnsureRunningAsync"/>.
/// </summary>
public sealed class FaultCluster : IAsyncLifetime
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(3);

    private readonly ExternalProcess?[] _silos = new ExternalProcess?[2];
    private readonly ExternalProcess?[] _gateways = new ExternalProcess?[2];
    private readonly List<ExternalProcess> _stopped = [];
    private int[] _siloPorts = [];
    private int[] _gatewayPorts = [];
    private Dictionary<string, string> _common = [];

    /// <summary>MQTT ports of the two gateways.</summary>
    public int[] MqttPorts { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var azurite = await Azurite.SharedAsync();
        _siloPorts = new int[2];
        _gatewayPorts = new int[2];
        MqttPorts = new int[2];
        var id = Guid.NewGuid().ToString("N")[..12];
        _common = new Dictionary<string, string>
        {
            ["Orleans__ClusterId"] = "fault-" + id,
            ["Orleans__ServiceId"] = "fault-" + id,
            ["Orleans__Clustering"] = "AzureTable",
            ["Azure__Storage__ConnectionString"] = azurite.ConnectionString,
            ["Mqtt__Lease__RenewInterval"] = "00:00:01",
            ["Mqtt__Lease__Duration"] = "00:00:03",
            ["Mqtt__KeepAliveSweepInterval"] = "00:00:00.200",

            // A call in flight to a silo that dies is failed after this (Orleans' default is 30 s), then retried.
            ["Orleans__Messaging__ResponseTimeout"] = "00:00:05",
            ["Logging__LogLevel__OrleansMqtt"] = "Information",
        };
        await Task.WhenAll(StartSiloAsync(0), StartSiloAsync(1));
        await Task.WhenAll(StartGatewayAsync(0), StartGatewayAsync(1));
    }

    /// <summary>Starts whatever a previous test killed or stopped.</summary>
    public async Task EnsureRunningAsync()
    {
        await Task.WhenAll(Enumerable.Range(0, 2).Where(i => _silos[i] is null).Select(StartSiloAsync));
        await Task.WhenAll(Enumerable.Range(0, 2).Where(i => _gateways[i] is null).Select(StartGatewayAsync));
    }

    /// <summary>
    /// Starts silo <paramref name="index"/> on ports of its own, new ones on every start: a port whose listener just
    /// died can be taken meanwhile (a client retrying a connection to it can even end up connected to itself).
    /// Gateways find silos in the membership table, so nothing needs the old ports.
    /// </summary>
    public async Task StartSiloAsync(int index)
    {
        var ports = FreePorts.Get(2);
        _siloPorts[index] = ports[0];
        _gatewayPorts[index] = ports[1];
        var env = new Dictionary<string, string>(_common)
        {
            ["Orleans__Persistence"] = "AzureTable",
            ["Orleans__Reminders"] = "AzureTable",
            ["Orleans__AdvertisedIPAddress"] = "127.0.0.1",
            ["Orleans__SiloPort"] = _siloPorts[index].ToString(),
            ["Orleans__GatewayPort"] = _gatewayPorts[index].ToString(),
            ["Orleans__MinimumReminderPeriod"] = "00:00:01",
            ["Orleans__Membership__ProbeTimeout"] = "00:00:01",
            ["Orleans__Membership__NumMissedProbesLimit"] = "2",
            ["Orleans__Membership__NumVotesForDeathDeclaration"] = "1",
            ["Orleans__Membership__TableRefreshTimeout"] = "00:00:02",
            ["Orleans__Membership__IAmAliveTablePublishTimeout"] = "00:00:05",
            ["Mqtt__Tcp__Enabled"] = "false",

            // Each silo names the sessions it hosts, so a test can kill the silo that holds its sessions.
            ["Logging__LogLevel__OrleansMqtt.Grains.SessionGrain"] = "Debug",
        };
        _silos[index] = await BrokerProcess.StartAsync("Silo", env);
    }

    /// <summary>Starts gateway <paramref name="index"/> on a new MQTT port, for the reason given at <see cref="StartSiloAsync"/>.</summary>
    public async Task StartGatewayAsync(int index)
    {
        MqttPorts[index] = FreePorts.Get(1)[0];
        var env = new Dictionary<string, string>(_common)
        {
            ["Mqtt__Tcp__Port"] = MqttPorts[index].ToString(),
        };
        _gateways[index] = await BrokerProcess.StartAsync("Gateway", env);
    }

    /// <summary>How many lines of silo <paramref name="index"/>'s log mention <paramref name="text"/>.</summary>
    public int SiloLinesWith(int index, string text) =>
        _silos[index]?.Output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal)) ?? 0;

    /// <summary>SIGKILL: no shutdown, no goodbye.</summary>
    public void KillSilo(int index) => Kill(_silos, index);

    public void KillGateway(int index) => Kill(_gateways, index);

    /// <summary>SIGTERM, and waits for a clean exit.</summary>
    public async Task StopSiloAsync(int index)
    {
        var silo = _silos[index] ?? throw new InvalidOperationException($"silo {index} is not running");
        silo.Terminate();
        var code = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"silo {index} exited with {code} on SIGTERM:\n{silo.Output}");
        _stopped.Add(silo);
        _silos[index] = null;
    }

    /// <summary>Everything the processes printed, for failure messages.</summary>
    public string Logs() => string.Join("\n", _silos.Concat(_gateways).Concat(_stopped).Where(p => p is not null).Select(p => $"--- process {p!.Id} ---\n{p.Output}"));

    public async Task DisposeAsync()
    {
        foreach (var process in _gateways.Concat(_silos).Concat(_stopped))
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
    }

    private void Kill(ExternalProcess?[] processes, int index)
    {
        var process = processes[index] ?? throw new InvalidOperationException($"process {index} is not running");
        process.Kill();
        _stopped.Add(process);
        processes[index] = null;
    }
}

/// <summary>
/// The fault tests kill processes and time what follows: they run alone, after the tests that run in parallel,
/// so that a busy machine does not blur their timings.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection : ICollectionFixture<FaultCluster>
{
    public const string Name = "fault cluster";
}
