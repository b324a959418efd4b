namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>The built Silo or Gateway program run as a separate process, as an operator would run it.</summary>
public static class BrokerProcess
{
    public static readonly TimeSpan StartupPatience = TimeSpan.FromSeconds(60);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <param name="openFilesLimit">Runs the program under this soft open-files limit (<c>ulimit -n</c>).</param>
    public static async Task<ExternalProcess> StartAsync(string program, IDictionary<string, string> environment, int? openFilesLimit = null)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(RepositoryRoot, program, "bin", configuration, "net10.0", $"OrleansMqtt.{program}.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var env = new Dictionary<string, string>(environment)
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        var process = openFilesLimit is { } limit
            ? ExternalProcess.Start("bash", ["-c", $"ulimit -n {limit} && exec dotnet \"$0\"", dll], env, workingDirectory: Path.GetDirectoryName(dll))
            : ExternalProcess.Start("dotnet", [dll], env, workingDirectory: Path.GetDirectoryName(dll));
        // The gateway says "MQTT gateway <id> ready: <listener>" once it serves clients.
        await process.WaitForLineAsync(" ready: ", StartupPatience);
        return process;
    }

    /// <summary>
    /// An embedded broker (a silo with its gateway) in a process of its own, on free ports; <paramref name="settings"/>
    /// (environment variables) are added to or replace the defaults. Returns the process and its MQTT port.
    /// </summary>
    public static async Task<(ExternalProcess Process, int MqttPort)> StartEmbeddedAsync(string name, IDictionary<string, string>? settings = null, int? openFilesLimit = null)
    {
        var ports = FreePorts.Get(3);
        var environment = new Dictionary<string, string>
        {
            ["Orleans__ClusterId"] = name + "-" + Guid.NewGuid().ToString("N"),
            ["Orleans__SiloPort"] = ports[0].ToString(),
            ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
            ["Orleans__GatewayPort"] = ports[1].ToString(),
            ["Mqtt__Tcp__Port"] = ports[2].ToString(),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return (await StartAsync("Silo", environment, openFilesLimit), ports[2]);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansMqtt.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrleansMqtt.sln not found above " + AppContext.BaseDirectory);
    }
}
