using System.Diagnostics;
using System.Globalization;
using OrleansMqtt.Bench.Client;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>
/// Idle connections: opens <c>connections</c> clients that then stay silent (keep-alive 0), and reads the VmRSS of the
/// broker's processes (<c>--pids</c>) before and after; the difference divided by the count is the memory per
/// connection, for all of them together and for each.
/// <para>
/// With <c>--warmup w</c>, the first w of them are opened first and held while the broker settles for
/// <c>--quiet-seconds</c>; the broker's VmRSS then is the footprint of a broker that has run, with its code compiled and
/// its pools grown, and the rest are opened and read against it: the memory that each more connection costs
/// (<c>bytes_per_connection_marginal</c>), without what a fresh process spends once on its first connections.
/// </para>
/// <para>
/// Each open connection takes a file descriptor in this process, so one process holds at most its open-files limit
/// less a margin (<c>--per-process</c>). For more, the scenario starts child processes of this program (the hidden
/// scenario <c>idle-hold</c>), each holding its share of the indices; each reports on standard output when its share
/// is open, and closes it when its standard input is closed (by this process, or by its exit).
/// </para>
/// </summary>
public static class IdleScenario
{
    /// <summary>Descriptors a process keeps free besides its connections: runtime, pipes, the children's pipes.</summary>
    public const int DescriptorMargin = 500;

    /// <summary>The line an <c>idle-hold</c> child writes when its share is open: <c>open connected failed seconds [first error]</c>.</summary>
    private const string OpenReport = "open";

    public static async Task<Report> RunAsync(BenchOptions options)
    {
        var count = options.Int("connections", 10_000);
        var settle = options.Double("settle-seconds", 5);

        // Then this much longer, idle, for a second reading: what the broker holds once it has settled (parked
        // quiet sessions, given memory back).
        var quiet = options.Double("quiet-seconds", 0);

        // Connections stay open this long after VmRSS is read, so that a heap dump can be taken of them.
        var hold = options.Double("hold-seconds", 0);
        var sources = options.Int("sources", Math.Max(1, (count + 19_999) / 20_000));
        var concurrency = options.Int("concurrency", 64);
        var perProcess = options.Int("per-process", OpenFilesLimit() - DescriptorMargin);
        if (options.Pids.Length == 0)
        {
            throw new BenchSettingException("idle needs --pids (the broker's processes) to read their memory");
        }

        if (perProcess < 1)
        {
            throw new BenchSettingException($"--per-process {perProcess}: the open-files limit leaves no room for connections");
        }

        // Held by this process while the rest are opened (by it, or by child processes).
        var warmup = options.Int("warmup", 0);
        if (warmup < 0 || warmup >= count || warmup > perProcess)
        {
            throw new BenchSettingException($"--warmup {warmup}: at least 0, fewer than --connections ({count}) and at most --per-process ({perProcess})");
        }

        // Child processes once this one would hold more than its share, counting the warm-up it keeps.
        var rest = count - warmup;
        var inProcess = count <= perProcess;
        var processes = inProcess ? 1 : (rest + perProcess - 1) / perProcess;
        var before = ReadResident(options);
        Log.Info($"idle: {count} connections to {options.Servers.Count} listener(s) from {sources} source address(es)"
            + $"{(inProcess ? "" : $" in {processes} client process(es)")}{(warmup > 0 ? $", the first {warmup} to warm up" : "")}"
            + $"; broker VmRSS before {before.Sum() / 1024} KiB");

        var closing = new List<Func<Task>>();
        Opened warm = default;
        var warmResident = before;
        if (warmup > 0)
        {
            var held = await Holding.OpenAsync(options, 0, warmup, sources, concurrency, "idle warm-up");
            warm = held.Result;
            closing.Add(held.CloseAsync);
            await Task.Delay(TimeSpan.FromSeconds(settle + quiet));
            warmResident = ReadResident(options);
            Log.Info($"idle: broker VmRSS with the {warm.Connected} warm-up connections, {settle + quiet} s later: {warmResident.Sum() / 1024} KiB");
        }

        var cpuBefore = ProcessStats.CpuSeconds(options.Pids);
        var start = Stopwatch.GetTimestamp();
        Opened opened;
        double clientCpu;
        if (inProcess)
        {
            var held = await Holding.OpenAsync(options, warmup, rest, sources, concurrency, "idle");
            opened = held.Result;
            closing.Add(held.CloseAsync);
            clientCpu = ProcessStats.OwnCpuSeconds();
        }
        else
        {
            var children = await Children.StartAsync(options, warmup, rest, processes, sources, concurrency);
            opened = children.Result;
            closing.Add(children.CloseAsync);
            clientCpu = children.CpuSeconds;
        }

        var connectSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var brokerCpu = ProcessStats.CpuSeconds(options.Pids) - cpuBefore;
        opened = opened with { Connected = opened.Connected + warm.Connected, Failed = opened.Failed + warm.Failed, FirstError = warm.FirstError ?? opened.FirstError };
        await Task.Delay(TimeSpan.FromSeconds(settle));
        var after = ReadResident(options);
        Log.Info($"idle: {opened.Connected} connected in {connectSeconds:F1} s, {opened.Failed} failed; broker VmRSS after {after.Sum() / 1024} KiB");
        var settled = after;
        if (quiet > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(quiet));
            settled = ReadResident(options);
            Log.Info($"idle: broker VmRSS after {quiet} s more, idle: {settled.Sum() / 1024} KiB");
        }

        if (hold > 0)
        {
            Log.Info($"idle: holding the connections for {hold} s");
            await Task.Delay(TimeSpan.FromSeconds(hold));
        }

        foreach (var close in closing)
        {
            await close();
        }

        var per = Math.Max(1.0, opened.Connected);
        string ByPid(Func<int, string> value) => string.Join(",", options.Pids.Select((p, i) => $"{p}:{value(i)}"));
        return new Report("idle", options)
            .Add("connections", count)
            .Add("connected", opened.Connected)
            .Add("failed", opened.Failed)
            .Add("first_error", opened.FirstError)
            .Add("listeners", options.Servers.Count)
            .Add("source_addresses", sources)
            // The processes holding connections: this one alone, or the children and, with a warm-up, this one too.
            .Add("client_processes", inProcess ? 1 : processes + (warmup > 0 ? 1 : 0))
            // The connections after the warm-up: how long they took, and how fast.
            .Add("connect_s", connectSeconds)
            .Add("connects_per_s", (opened.Connected - warm.Connected) / connectSeconds)
            // CPU while connecting: the broker's processes, and the client's (this process, or its children).
            .Add("broker_cpu_s", brokerCpu)
            .Add("client_cpu_s", clientCpu)
            .Add("broker_rss_before_kib", before.Sum() / 1024)
            .Add("broker_rss_after_kib", after.Sum() / 1024)
            .Add("bytes_per_connection", opened.Connected == 0 ? double.NaN : (after.Sum() - before.Sum()) / (double)opened.Connected)
            .Add("bytes_per_connection_by_pid", ByPid(i => ((after[i] - before[i]) / per).ToString("F0", CultureInfo.InvariantCulture)))
            .Add("broker_rss_before_kib_by_pid", ByPid(i => (before[i] / 1024).ToString(CultureInfo.InvariantCulture)))
            .Add("broker_rss_after_kib_by_pid", ByPid(i => (after[i] / 1024).ToString(CultureInfo.InvariantCulture)))
            .Add("quiet_s", quiet)
            .Add("broker_rss_quiet_kib", settled.Sum() / 1024)
            .Add("bytes_per_connection_quiet", opened.Connected == 0 ? double.NaN : (settled.Sum() - before.Sum()) / (double)opened.Connected)
            .Add("bytes_per_connection_quiet_by_pid", ByPid(i => ((settled[i] - before[i]) / per).ToString("F0", CultureInfo.InvariantCulture)))
            .Add("warmup_connections", warm.Connected)
            .Add("broker_rss_warm_kib", warmResident.Sum() / 1024)
            .Add("bytes_per_connection_marginal", warmup == 0 || opened.Connected == warm.Connected ? double.NaN
                : (settled.Sum() - warmResident.Sum()) / (double)(opened.Connected - warm.Connected))
            .Add("bytes_per_connection_marginal_by_pid", warmup == 0 ? "" : ByPid(i => ((settled[i] - warmResident[i]) / Math.Max(1.0, opened.Connected - warm.Connected)).ToString("F0", CultureInfo.InvariantCulture)));
    }

    private static long[] ReadResident(BenchOptions options) => options.Pids.Select(p => ProcessStats.ResidentBytes([p])).ToArray();

    /// <summary>
    /// The child's side (<c>idle-hold --first i --connections n ...</c>): opens connections i .. i+n-1, writes the
    /// <c>open</c> line, holds them until standard input is closed, then disconnects them.
    /// </summary>
    public static async Task HoldAsync(BenchOptions options)
    {
        var first = options.Int("first", 0);
        var count = options.Int("connections", 0);
        var sources = options.Int("sources", 1);
        var concurrency = options.Int("concurrency", 64);
        var held = await Holding.OpenAsync(options, first, count, sources, concurrency, $"idle-hold {first}..{first + count - 1}");
        var r = held.Result;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{OpenReport} {r.Connected} {r.Failed} {r.Seconds:F3} {r.FirstError?.ReplaceLineEndings(" ")}").TrimEnd());
        Console.Out.Flush();
        await using (var stdin = Console.OpenStandardInput())
        {
            var buffer = new byte[256];
            while (await stdin.ReadAsync(buffer) > 0)
            {
            }
        }

        await held.CloseAsync();
    }

    /// <summary>The soft open-files limit of this process (/proc/self/limits), which children inherit.</summary>
    public static int OpenFilesLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? int.MaxValue : (int)Math.Min(int.MaxValue, long.Parse(soft, CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException("/proc/self/limits has no 'Max open files' line");
    }

    private readonly record struct Opened(long Connected, long Failed, string? FirstError, double Seconds);

    /// <summary>Connections first .. first+count-1, opened in this process.</summary>
    private sealed class Holding
    {
        private readonly List<BenchConnection> _connections;

        private Holding(List<BenchConnection> connections, Opened result)
        {
            _connections = connections;
            Result = result;
        }

        public Opened Result { get; }

        public static async Task<Holding> OpenAsync(BenchOptions options, int first, int count, int sources, int concurrency, string what)
        {
            var connector = new Connector(options) { SourceAddresses = sources, Concurrency = concurrency, KeepAliveSeconds = 0 };
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds));
            var connections = new List<BenchConnection>(count);
            var next = first - 1;
            var end = first + count;
            var failures = 0;
            string? firstError = null;
            var start = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < end && !cancel.IsCancellationRequested)
                {
                    try
                    {
                        var c = await connector.ConnectAsync(i, $"b{options.RunId}-idle-{i}", true, cancel.Token);
                        lock (connections)
                        {
                            connections.Add(c);
                        }
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstError, ex.GetType().Name + ": " + ex.Message, null);
                    }
                }
            })));

            // Indices never tried because --max-seconds ran out count as failed too.
            var untried = count - connections.Count - failures;
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (untried > 0)
            {
                firstError ??= $"--max-seconds {options.MaxSeconds} ran out";
            }

            Log.Info($"{what}: {connections.Count} connected in {seconds:F1} s, {failures + untried} failed");
            return new Holding(connections, new Opened(connections.Count, failures + untried, firstError, seconds));
        }

        public async Task CloseAsync()
        {
            using var gate = new SemaphoreSlim(64);
            await Task.WhenAll(_connections.Select(async c =>
            {
                await gate.WaitAsync();
                try
                {
                    await c.DisconnectAsync();
                }
                finally
                {
                    gate.Release();
                }
            }));
            _connections.Clear();
        }
    }

    /// <summary>Child processes (<c>idle-hold</c>), each holding an equal share of the indices.</summary>
    private sealed class Children
    {
        private readonly Process[] _processes;

        private Children(Process[] processes, Opened result)
        {
            _processes = processes;
            Result = result;
        }

        public Opened Result { get; }

        /// <summary>Indices <paramref name="offset"/> .. offset+count-1, shared out over <paramref name="processes"/> children.</summary>
        public static async Task<Children> StartAsync(BenchOptions options, int offset, int count, int processes, int sources, int concurrency)
        {
            // The in-flight connects are shared out, so that the broker sees the same --concurrency as from one process.
            var each = Math.Max(1, concurrency / processes);
            var ports = string.Join(",", options.Servers.Select(s => s.Port.ToString(CultureInfo.InvariantCulture)));
            var children = new Process[processes];
            var shares = new int[processes];
            var first = offset;
            for (var p = 0; p < processes; p++)
            {
                shares[p] = count / processes + (p < count % processes ? 1 : 0);
                children[p] = Start(
                [
                    "idle-hold", "--host", options.Server.Address.ToString(), "--ports", ports,
                    "--mqtt", options.Version == OrleansMqtt.Protocol.MqttProtocolVersion.V500 ? "5" : "4",
                    "--run", options.RunId, "--first", Invariant(first), "--connections", Invariant(shares[p]),
                    "--sources", Invariant(sources), "--concurrency", Invariant(each),
                    "--max-seconds", options.MaxSeconds.ToString(CultureInfo.InvariantCulture),
                ]);
                first += shares[p];
            }

            // Each child connects for at most --max-seconds; the rest is its start-up.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds + 60));
            var reports = await Task.WhenAll(children.Select((c, p) => ReadOpenAsync(c, p, shares[p], timeout.Token)));
            var cpu = children.Sum(c => c.HasExited ? 0 : c.TotalProcessorTime.TotalSeconds);
            return new Children(children, new Opened(
                reports.Sum(r => r.Connected),
                reports.Sum(r => r.Failed),
                reports.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
                reports.Max(r => r.Seconds))) { CpuSeconds = cpu };
        }

        /// <summary>CPU time of the children up to the moment all were open.</summary>
        public double CpuSeconds { get; private init; }

        /// <summary>Closes every child's standard input, the signal to disconnect, and waits for them to exit.</summary>
        public async Task CloseAsync()
        {
            foreach (var child in _processes)
            {
                try
                {
                    child.StandardInput.Close();
                }
                catch (IOException)
                {
                    // Already gone; its connections closed with it.
                }
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            foreach (var child in _processes)
            {
                try
                {
                    await child.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    Log.Info($"idle: client process {child.Id} did not exit after closing its connections; killing it");
                    child.Kill(entireProcessTree: true);
                }

                child.Dispose();
            }
        }

        private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

        private static Process Start(string[] args)
        {
            // Run the same program the same way: through the dotnet host (dotnet OrleansMqtt.Bench.dll) or the apphost.
            var host = Environment.ProcessPath ?? throw new InvalidOperationException("No process path");
            var info = new ProcessStartInfo(host)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                info.ArgumentList.Add(typeof(IdleScenario).Assembly.Location);
            }

            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }

            return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {host}");
        }

        private static async Task<Opened> ReadOpenAsync(Process child, int index, int share, CancellationToken cancellationToken)
        {
            try
            {
                while (await child.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
                {
                    var parts = line.Split(' ', 5);
                    if (parts.Length >= 4 && parts[0] == OpenReport)
                    {
                        return new Opened(
                            long.Parse(parts[1], CultureInfo.InvariantCulture),
                            long.Parse(parts[2], CultureInfo.InvariantCulture),
                            parts.Length == 5 ? parts[4] : null,
                            double.Parse(parts[3], CultureInfo.InvariantCulture));
                    }
                }

                await child.WaitForExitAsync(cancellationToken);
                return new Opened(0, share, $"client process {index} exited with code {child.ExitCode} before its connections were open", 0);
            }
            catch (OperationCanceledException)
            {
                child.Kill(entireProcessTree: true);
                return new Opened(0, share, $"client process {index} did not report its connections open in time", 0);
            }
        }
    }
}
