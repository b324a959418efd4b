using System.Diagnostics;
using OrleansMqtt.Bench.Client;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>Connection storm (connects per second) and idle connections (broker memory per connection).</summary>
public static class ConnectionScenarios
{
    /// <summary>
    /// Opens <c>connections</c> clients, <c>concurrency</c> at a time, each timed from the socket connect to CONNACK;
    /// then disconnects them all.
    /// </summary>
    public static async Task<Report> StormAsync(BenchOptions options)
    {
        var count = options.Int("connections", 5_000);
        var concurrency = options.Int("concurrency", 64);
        var connector = new Connector(options) { SourceAddresses = options.Int("sources", 4) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds));
        var times = new long[count];
        var connections = new BenchConnection?[count];
        var failures = 0;
        string? firstError = null;
        var next = -1;

        Log.Info($"storm: {count} connections, {concurrency} at a time");
        var cpuBefore = ProcessStats.CpuSeconds(options.Pids);
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && !cancel.IsCancellationRequested)
            {
                var began = Stopwatch.GetTimestamp();
                try
                {
                    connections[i] = await connector.ConnectAsync(i, $"b{options.RunId}-storm-{i}", true, cancel.Token);
                    times[i] = Stopwatch.GetTimestamp() - began;
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, ex.GetType().Name + ": " + ex.Message, null);
                    times[i] = -1;
                }
            }
        })));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var cpu = ProcessStats.CpuSeconds(options.Pids) - cpuBefore;

        var open = connections.Where(c => c is not null).Select(c => c!).ToArray();
        using var gate = new SemaphoreSlim(concurrency);
        await Task.WhenAll(open.Select(async c =>
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

        var sorted = times.Where(t => t > 0).Order().ToArray();
        double Ms(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        return new Report("storm", options)
            .Add("connections", count)
            .Add("concurrency", concurrency)
            .Add("connected", (long)open.Length)
            .Add("failed", (long)failures)
            .Add("first_error", firstError)
            .Add("elapsed_s", elapsed)
            .Add("connects_per_s", open.Length / elapsed)
            .Add("connect_p50_ms", Ms(0.5))
            .Add("connect_p99_ms", Ms(0.99))
            .Add("broker_cpu_s", cpu);
    }

    /// <summary>
    /// Opens <c>connections</c> clients that then stay silent (keep-alive 0), and reads the VmRSS of the broker's
    /// processes (<c>--pids</c>) before and after: the difference divided by the count is the memory per connection.
    /// </summary>
    public static async Task<Report> IdleAsync(BenchOptions options)
    {
        var count = options.Int("connections", 10_000);
        var settle = options.Double("settle-seconds", 5);

        // Connections stay open this long after VmRSS is read, so that a heap dump can be taken of them.
        var hold = options.Double("hold-seconds", 0);
        var connector = new Connector(options)
        {
            SourceAddresses = options.Int("sources", Math.Max(1, (count + 19_999) / 20_000)),
            Concurrency = options.Int("concurrency", 64),
            KeepAliveSeconds = 0,
        };
        if (options.Pids.Length == 0)
        {
            throw new ArgumentException("idle needs --pids (the broker's processes) to read their memory");
        }

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds));
        var before = ProcessStats.ResidentBytes(options.Pids);
        var beforeEach = options.Pids.Select(p => ProcessStats.ResidentBytes([p])).ToArray();
        Log.Info($"idle: {count} connections; broker VmRSS before {before / 1024} KiB");
        var connections = new List<BenchConnection>(count);
        var next = -1;
        var failures = 0;
        string? firstError = null;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, connector.Concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && !cancel.IsCancellationRequested)
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
        var connectSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(settle));
        var after = ProcessStats.ResidentBytes(options.Pids);
        var perProcess = string.Join(",", options.Pids.Select((p, i) => $"{p}:{(ProcessStats.ResidentBytes([p]) - beforeEach[i]) / Math.Max(1.0, connections.Count):F0}"));
        Log.Info($"idle: {connections.Count} connected in {connectSeconds:F1} s; broker VmRSS after {after / 1024} KiB");
        if (hold > 0)
        {
            Log.Info($"idle: holding the connections for {hold} s");
            await Task.Delay(TimeSpan.FromSeconds(hold));
        }

        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(connections.Select(async c =>
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

        return new Report("idle", options)
            .Add("connections", count)
            .Add("connected", (long)connections.Count)
            .Add("failed", (long)failures)
            .Add("first_error", firstError)
            .Add("source_addresses", connector.SourceAddresses)
            .Add("connect_s", connectSeconds)
            .Add("broker_rss_before_kib", before / 1024)
            .Add("broker_rss_after_kib", after / 1024)
            .Add("bytes_per_connection", connections.Count == 0 ? double.NaN : (after - before) / (double)connections.Count)
            .Add("bytes_per_connection_by_pid", perProcess);
    }
}
