using System.Net.Sockets;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>
/// An Azurite of its own that keeps its data in a folder (not in memory), so it can be stopped and started again on
/// the same ports with its queues as they were: a queue service outage.
/// </summary>
public sealed class RestartableAzurite : IAsyncDisposable
{
    private readonly int[] _ports;
    private readonly string _location;
    private ExternalProcess? _process;

    private RestartableAzurite(int[] ports, string location)
    {
        _ports = ports;
        _location = location;
        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + $"BlobEndpoint=http://127.0.0.1:{ports[0]}/devstoreaccount1;"
            + $"QueueEndpoint=http://127.0.0.1:{ports[1]}/devstoreaccount1;"
            + $"TableEndpoint=http://127.0.0.1:{ports[2]}/devstoreaccount1;";
    }

    public string ConnectionString { get; }

    public static async Task<RestartableAzurite> StartAsync()
    {
        Assert.True(File.Exists(Azurite.Script), $"Azurite is not installed at {Azurite.Script}: run scripts/install-test-tools.sh");
        var location = Path.Combine(Path.GetTempPath(), "azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(location);
        var azurite = new RestartableAzurite(FreePorts.Get(3), location);
        await azurite.RestartAsync();
        return azurite;
    }

    /// <summary>SIGTERM, and waits until it is gone: Azurite saves its data as it stops.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            process.Terminate();
            await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await process.DisposeAsync();
            _process = null;
        }
    }

    public async Task RestartAsync()
    {
        _process = ExternalProcess.Start("node",
        [
            Azurite.Script,
            "--blobHost", "127.0.0.1", "--blobPort", _ports[0].ToString(),
            "--queueHost", "127.0.0.1", "--queuePort", _ports[1].ToString(),
            "--tableHost", "127.0.0.1", "--tablePort", _ports[2].ToString(),
            "--location", _location,
            "--skipApiVersionCheck", "--disableTelemetry", "--silent",
        ]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var port in _ports)
        {
            while (!await Azurite.AcceptsAsync(port))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Azurite did not listen on 127.0.0.1:{port} within 30 s. Output:\n{_process.Output}");
                }

                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
