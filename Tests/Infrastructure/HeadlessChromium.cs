namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>Debian's <c>chromium</c> in headless mode: the DOM after the page's scripts ran, or a PNG screenshot.</summary>
public static class HeadlessChromium
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static string Executable { get; } = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? "chromium";

    /// <summary>The page's DOM once its scripts have had <paramref name="scriptTime"/> of (virtual) time.</summary>
    public static async Task<string> DumpDomAsync(string url, TimeSpan scriptTime) =>
        await RunAsync(["--dump-dom", url], scriptTime);

    public static async Task ScreenshotAsync(string url, string path, TimeSpan scriptTime, int width = 1280, int height = 900)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        await RunAsync([$"--screenshot={path}", $"--window-size={width},{height}", "--hide-scrollbars", url], scriptTime);
        Assert.True(File.Exists(path), $"chromium wrote no screenshot to {path}");
    }

    private static async Task<string> RunAsync(string[] arguments, TimeSpan scriptTime)
    {
        Assert.True(File.Exists(Executable), "chromium is not installed (scripts/install-test-tools.sh installs it)");
        var profile = Directory.CreateTempSubdirectory("chromium-profile-");
        try
        {
            // As root in a container chromium needs --no-sandbox; its own profile keeps parallel runs apart.
            string[] common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile.FullName, $"--virtual-time-budget={(int)scriptTime.TotalMilliseconds}"];
            await using var process = ExternalProcess.Start(Executable, [.. common, .. arguments]);
            var exit = await process.WaitForExitAsync(Patience);
            Assert.True(exit == 0, $"chromium exited with {exit}:\n{process.Output}");
            return process.Output;
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
