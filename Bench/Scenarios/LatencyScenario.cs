using System.Diagnostics;
using OrleansMqtt.Bench.Client;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Scenarios;

/// <summary>
/// One publisher at a fixed rate, one subscriber: the time from writing a message to reading it, p50/p99/p99.9.
/// The first second is a warm-up and is not counted. Each message is written at its due time (1/rate apart) and
/// stamped when written.
/// </summary>
public static class LatencyScenario
{
    public static async Task<Report> RunAsync(BenchOptions options)
    {
        var rate = options.Int("rate", 1_000);
        var seconds = Math.Min(options.Double("seconds", 10), options.MaxSeconds);
        var warmup = options.Double("warmup-seconds", 1);
        var qos = options.Qos();
        var payloadSize = options.Int("payload", 64);
        var connector = new Connector(options);
        var topic = $"bench/{options.RunId}/latency";
        var count = (int)(rate * (seconds + warmup));
        var warmupCount = (int)(rate * warmup);

        using var cancel = new CancellationTokenSource();
        var delivered = new long[1];
        var signals = new[] { new AsyncSignal() };
        var latencies = new long[count];
        Array.Fill(latencies, -1);

        await using var subscriber = await connector.ConnectAsync(0, $"b{options.RunId}-lat-s", true, cancel.Token);
        await subscriber.SubscribeAsync(topic, qos, cancel.Token);
        var tracker = new DeliveryTracker(1, count, delivered, signals, latencies, warmupCount);
        var subscriberLoop = subscriber.ReadLoopAsync(tracker, cancel.Token);

        await using var connection = await connector.ConnectAsync(1, $"b{options.RunId}-lat-p", true, cancel.Token);
        var publisher = new Publisher(0, connection, topic, qos, payloadSize, delivered, signals[0]);
        var publisherLoop = connection.ReadLoopAsync(publisher, cancel.Token);

        Log.Info($"latency: {rate} msg/s for {seconds} s (+{warmup} s warm-up), QoS {(int)qos}");
        var cpuBefore = ProcessStats.CpuSeconds(options.Pids);
        // A thread of its own, since Pacer blocks it between messages.
        var start = Stopwatch.GetTimestamp();
        var sent = await Task.Factory.StartNew(() =>
        {
            var written = 0;
            while (written < count && !cancel.IsCancellationRequested)
            {
                Pacer.WaitUntil(start + (long)(written * (double)Stopwatch.Frequency / rate));
                connection.WritePendingAcks();
                var now = Stopwatch.GetTimestamp();

                // Normally one; more only when this thread woke later than the next message was due.
                var due = Math.Min(count, (int)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
                for (; written < due; written++)
                {
                    publisher.WritePublish(connection.Output, written, now);
                }

                var flush = connection.Output.FlushAsync(cancel.Token);
                if (!flush.IsCompleted)
                {
                    flush.AsTask().GetAwaiter().GetResult();
                }
            }

            return written;
        }, cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await ThroughputScenario.Drain(() => tracker.Unique, count, TimeSpan.FromSeconds(3));
        for (var i = 0; i < 20 && qos == QualityOfService.ExactlyOnce && connection.WritePendingAcks() >= 0 && publisher.Completed < sent; i++)
        {
            await connection.Output.FlushAsync(cancel.Token);
            await Task.Delay(50);
        }

        var cpu = ProcessStats.CpuSeconds(options.Pids) - cpuBefore;
        await cancel.CancelAsync();
        await subscriber.DisconnectAsync();
        await connection.DisconnectAsync();
        await Task.WhenAll(subscriberLoop, publisherLoop);

        if (options.String("samples", "") is { Length: > 0 } samples)
        {
            // Every message's latency in ms in the order sent, warm-up included (-1: not delivered), to see when the
            // tail happens: spread out, in bursts, or periodically.
            File.WriteAllLines(samples, latencies.Select(l => l < 0 ? "-1" : (l * 1000.0 / Stopwatch.Frequency).ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
        }

        var measured = latencies.Skip(warmupCount).Where(l => l >= 0).Order().ToArray();
        double Percentile(double p) => measured.Length == 0 ? double.NaN : measured[Math.Min(measured.Length - 1, (int)Math.Ceiling(p * measured.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        return new Report("latency", options)
            .Add("qos", (int)qos)
            .Add("rate", rate)
            .Add("seconds", seconds)
            .Add("payload_bytes", payloadSize)
            .Add("sent", (long)sent)
            .Add("delivered", tracker.Unique)
            .Add("lost", sent - tracker.Unique)
            .Add("duplicates", tracker.Duplicates)
            .Add("out_of_order", tracker.OutOfOrder)
            .Add("measured", (long)measured.Length)
            .Add("p50_ms", Percentile(0.50))
            .Add("p90_ms", Percentile(0.90))
            .Add("p99_ms", Percentile(0.99))
            .Add("p999_ms", Percentile(0.999))
            .Add("max_ms", measured.Length == 0 ? double.NaN : measured[^1] * 1000.0 / Stopwatch.Frequency)
            .Add("broker_cpu_s", cpu);
    }
}
