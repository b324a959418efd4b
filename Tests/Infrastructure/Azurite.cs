using System.Net.Sockets;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// Azurite, the local Azure Storage, as a separate node process on free ports of 127.0.0.1, in memory. One instance
/// serves the whole test run (tests keep apart by their own ClusterId and ServiceId); it stops when the run ends.
/// scripts/install-test-tools.sh installs it into .tools/azurite.
/// </summary>
public sealed class Azurite
{
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static Azurite? _shared;

    private readonly ExternalProcess _process;

    private Azurite(ExternalProcess process, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;"
            + $"QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;"
            + $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";
    }

    /// <summary>The account connection string (Azure:Storage:ConnectionString).</summary>
    public string ConnectionString { get; }

    public static string Script => Path.Combine(BrokerProcess.RepositoryRoot, ".tools", "azurite", "node_modules", "azurite", "dist", "src", "azurite.js");

    /// <summary>The instance of this test run, started on first use.</summary>
    public static async Task<Azurite> SharedAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            return _shared ??= await StartAsync();
        }
        finally
        {
            StartLock.Release();
        }
    }

    private static async Task<Azurite> StartAsync()
    {
        Assert.True(File.Exists(Script), $"Azurite is not installed at {Script}: run scripts/install-test-tools.sh");
        var ports = FreePorts.Get(3);
        var process = ExternalProcess.Start("node",
        [
            Script,
            "--blobHost", "127.0.0.1", "--blobPort", ports[0].ToString(),
            "--queueHost", "127.0.0.1", "--queuePort", ports[1].ToString(),
            "--tableHost", "127.0.0.1", "--tablePort", ports[2].ToString(),
            "--skipApiVersionCheck", "--disableTelemetry", "--inMemoryPersistence", "--silent",
        ]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => process.Kill();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var port in ports)
        {
            while (!await AcceptsAsync(port))
            {
                if (DateTime.UtcNow > deadline)
                {
                    process.Kill();
                    throw new TimeoutException($"Azurite did not listen on 127.0.0.1:{port} within 30 s. Output:\n{process.Output}");
                }

                await Task.Delay(100);
            }
        }

        return new Azurite(process, ports[0], ports[1], ports[2]);
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    internal static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public int ProcessId => _process.Id;
}
