using System.Diagnostics;
using OrleansMqtt.Bench.Client;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>Connection storm (connects per second); idle connections are <see cref="IdleScenario"/>.</summary>
public static class ConnectionScenarios
{
    /// <summary>
    /// Opens <c>connections</c> clients, <c>concurrency</c> at a time, each timed from the socket connect to CONNACK
    /// (with <c>subscribe</c>, a filter in which <c>{i}</c> stands for the client's number, to its SUBACK as well: a
    /// fleet whose devices each subscribe to their own commands); then disconnects them all.
    /// </summary>
    public static async Task<Report> StormAsync(BenchOptions options)
    {
        var count = options.Int("connections", 5_000);
        var concurrency = options.Int("concurrency", 64);
        var subscribe = options.String("subscribe", "");
        var connector = new Connector(options) { SourceAddresses = options.Int("sources", 4) };
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxSeconds));
        var times = new long[count];
        var connections = new BenchConnection?[count];
        var failures = 0;
        string? firstError = null;
        var next = -1;

        Log.Info($"storm: {count} connections, {concurrency} at a time{(subscribe.Length > 0 ? $", each subscribing to {subscribe}" : "")}");
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
                    var connection = await connector.ConnectAsync(i, $"b{options.RunId}-storm-{i}", true, cancel.Token);
                    connections[i] = connection;
                    if (subscribe.Length > 0)
                    {
                        await connection.SubscribeAsync(subscribe.Replace("{i}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal), QualityOfService.AtLeastOnce, cancel.Token);
                    }

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
            .Add("subscribe", subscribe.Length > 0 ? subscribe : null)
            .Add("connected", (long)open.Length)
            .Add("failed", (long)failures)
            .Add("first_error", firstError)
            .Add("elapsed_s", elapsed)
            .Add("connects_per_s", open.Length / elapsed)
            .Add("connect_p50_ms", Ms(0.5))
            .Add("connect_p99_ms", Ms(0.99))
            .Add("broker_cpu_s", cpu);
    }
}
