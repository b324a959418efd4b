using Microsoft.Extensions.Options;
using OrleansMqtt.Gateway;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Memory;

/// <summary>
/// A broker that goes quiet after a busy spell gives the memory of that spell back to the system, once per spell,
/// and a steady trickle of work does not make it collect over and over.
/// </summary>
public sealed class MemoryTrimTests
{
    private const long MB = 1 << 20;

    [Fact]
    public void The_trim_reaches_glibc_malloc_trim_on_this_kind_of_host()
    {
        // Debian, like the container images: without it a trimmed broker keeps the native memory of its busy spell.
        Assert.True(NativeHeap.Trim());
    }

    [Fact]
    public void A_busy_spell_is_followed_by_one_trim_once_the_process_has_been_quiet_for_the_period()
    {
        var policy = new QuietTrimPolicy(TimeSpan.FromSeconds(30));
        long allocated = 0;
        Assert.False(policy.Observe(0, allocated, 100 * MB));

        // Busy: 50 MB per 5 s sample.
        for (var t = 5_000; t <= 20_000; t += 5_000)
        {
            allocated += 50 * MB;
            Assert.False(policy.Observe(t, allocated, 100 * MB));
        }

        // Quiet (100 KB per sample): nothing until 30 s of it.
        var trims = new List<long>();
        for (var t = 25_000; t <= 120_000; t += 5_000)
        {
            allocated += 100 * 1024;
            if (policy.Observe(t, allocated, 100 * MB))
            {
                trims.Add(t);
                policy.Trimmed(allocated);
            }
        }

        Assert.Equal([50_000L], trims);
    }

    [Fact]
    public void A_trickle_of_work_trims_at_most_once_per_eighth_of_the_heap_allocated()
    {
        var policy = new QuietTrimPolicy(TimeSpan.FromSeconds(30));
        long allocated = 0;
        policy.Observe(0, allocated, 800 * MB);
        policy.Trimmed(allocated);

        // 200 KB/s, below the quiet rate, for an hour: 720 MB in all, an eighth of the heap is 100 MB.
        var trims = 0;
        for (var t = 5_000; t <= 3_600_000; t += 5_000)
        {
            allocated += 1000 * 1024;
            if (policy.Observe(t, allocated, 800 * MB))
            {
                trims++;
                policy.Trimmed(allocated);
            }
        }

        Assert.InRange(trims, 6, 7);
    }

    [Fact]
    public void Work_resumed_before_the_quiet_period_ends_puts_the_trim_off()
    {
        var policy = new QuietTrimPolicy(TimeSpan.FromSeconds(30));
        long allocated = 0;
        policy.Observe(0, allocated, 100 * MB);
        for (var t = 5_000; t <= 300_000; t += 5_000)
        {
            // Every fourth sample is busy: never 30 s of quiet in a row.
            allocated += t % 20_000 == 0 ? 20 * MB : 1024;
            Assert.False(policy.Observe(t, allocated, 100 * MB), $"trimmed at {t} ms");
        }
    }

    [Fact]
    public async Task A_quiet_broker_gives_memory_back_and_says_so()
    {
        var (broker, _) = await BrokerProcess.StartEmbeddedAsync("trim", new Dictionary<string, string> { ["Mqtt__Memory__TrimAfterQuiet"] = "00:00:01" });
        await using (broker)
        {
            // Starting allocates far more than the minimum worth a trim, and then the broker is idle.
            await broker.WaitForLineAsync("Quiet for 1 s: gave ", TimeSpan.FromSeconds(60));
            var line = broker.Output.Split('\n').First(l => l.Contains("Quiet for 1 s: gave ", StringComparison.Ordinal));
            Assert.Matches(@"working set \d+ MB -> \d+ MB, heap \d+ MB, paused \d+ ms", line);
        }
    }

    [Theory]
    [InlineData("Mqtt:Memory:TrimAfterQuiet", "00:00:00.5", "Mqtt:Memory:TrimAfterQuiet must be 0 (never) or at least 00:00:01.")]
    [InlineData("Mqtt:Memory:TrimAfterQuiet", "-00:00:01", "Mqtt:Memory:TrimAfterQuiet must be 0 (never) or at least 00:00:01.")]
    [InlineData("Mqtt:Sessions:ParkAfter", "00:00:00.5", "Mqtt:Sessions:ParkAfter must be 0 (never park) or at least 00:00:01.")]
    public async Task A_bad_idle_setting_stops_the_broker_at_start_naming_it(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(message, error.Message);
    }
}
