using System.Diagnostics;
using System.Text.Json.Nodes;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Infra;

/// <summary>
/// The Bicep CLI that scripts/install-test-tools.sh restores from NuGet (tools/BicepCli), run on infra/main.bicep.
/// </summary>
public static class BicepCli
{
    public const string Version = "0.49.2";

    private static readonly Lazy<Task<(int ExitCode, string Output, string Errors)>> Build =
        new(() => RunAsync("build", MainTemplate, "--stdout"));

    public static string MainTemplate => Path.Combine(BrokerProcess.RepositoryRoot, "infra", "main.bicep");

    public static string Binary
    {
        get
        {
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
                ? custom
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            return Path.Combine(packages, "azure.bicep.commandline.linux-x64", Version, "tools", "bicep");
        }
    }

    /// <summary>Runs bicep with <paramref name="arguments"/>; returns its exit code, standard output and error.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments)
    {
        Assert.True(File.Exists(Binary), $"The Bicep CLI is not at {Binary}: run scripts/install-test-tools.sh");
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(MainTemplate)!,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Offline and quiet: no telemetry, no registry look-ups.
        info.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }

    /// <summary><c>bicep build infra/main.bicep --stdout</c>, run once per test run (it takes seconds).</summary>
    public static Task<(int ExitCode, string Output, string Errors)> BuildMainAsync() => Build.Value;

    /// <summary>The ARM JSON of infra/main.bicep.</summary>
    public static async Task<JsonObject> CompiledMainAsync()
    {
        var (exitCode, output, errors) = await BuildMainAsync();
        Assert.True(exitCode == 0, $"bicep build failed ({exitCode}):\n{errors}");
        return JsonNode.Parse(output)!.AsObject();
    }
}
