using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Gives memory back to the system once the process goes quiet after a busy spell (a connect storm, a burst of
/// traffic, sessions parked): the garbage collector runs only when something allocates, so without this a quiet
/// broker keeps the memory of its last spell, and of the sessions it parked since, for as long as it stays quiet.
/// One full, compacting, decommitting collection per quiet spell, only when enough was allocated since the last one
/// to be worth its pause; then, on Linux with glibc, <c>malloc_trim</c>: native memory that the runtime freed after the
/// spell stays resident in malloc's arenas until something asks for it back (7 MB in one arena of an embedded broker
/// after 19,500 connects, docs/benchmarks.md).
/// </summary>
public sealed class MemoryTrim(IOptions<GatewayOptions> options, ILogger<MemoryTrim> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var quiet = options.Value.Memory.TrimAfterQuiet;
        if (quiet == TimeSpan.Zero)
        {
            return;
        }

        var policy = new QuietTrimPolicy(quiet);
        var period = TimeSpan.FromTicks(Math.Clamp(quiet.Ticks / 3, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(5).Ticks));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (policy.Observe(Environment.TickCount64, GC.GetTotalAllocatedBytes(), GC.GetGCMemoryInfo().HeapSizeBytes))
                {
                    Trim(quiet);
                    policy.Trimmed(GC.GetTotalAllocatedBytes());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Trim(TimeSpan quiet)
    {
        var before = Environment.WorkingSet;
        var pause = Stopwatch.StartNew();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        pause.Stop();
        _ = NativeHeap.Trim();
        var after = Environment.WorkingSet;
        logger.LogInformation(
            "Quiet for {Quiet} s: gave {Freed} MB back to the system (working set {Before} MB -> {After} MB, heap {Heap} MB, paused {Pause} ms)",
            (int)quiet.TotalSeconds, Math.Max(0, before - after) >> 20, before >> 20, after >> 20, GC.GetGCMemoryInfo().HeapSizeBytes >> 20, pause.ElapsedMilliseconds);
    }
}

/// <summary>
/// When <see cref="MemoryTrim"/> collects: the process allocated less than <see cref="QuietBytesPerSecond"/> in every
/// sample for the whole quiet period, and allocated at least an eighth of its heap (and 32 MB) since the last trim,
/// so a steady trickle of traffic costs at most one such collection per eighth of the heap it allocates.
/// </summary>
public sealed class QuietTrimPolicy(TimeSpan quietFor)
{
    public const long QuietBytesPerSecond = 256 * 1024;
    public const long MinimumAllocated = 32L << 20;

    private long _lastTick = -1;
    private long _lastAllocated;
    private long _allocatedAtTrim;
    private long _quietSince = -1;

    /// <summary>Takes one sample (milliseconds, bytes allocated so far, heap size at the last collection); true: trim now.</summary>
    public bool Observe(long nowMs, long allocatedBytes, long heapBytes)
    {
        if (_lastTick < 0)
        {
            (_lastTick, _lastAllocated, _quietSince) = (nowMs, allocatedBytes, nowMs);
            return false;
        }

        var elapsedMs = Math.Max(1, nowMs - _lastTick);
        var busy = (allocatedBytes - _lastAllocated) * 1000 / elapsedMs > QuietBytesPerSecond;
        (_lastTick, _lastAllocated) = (nowMs, allocatedBytes);
        if (busy)
        {
            _quietSince = -1;
            return false;
        }

        if (_quietSince < 0)
        {
            _quietSince = nowMs - elapsedMs;
        }

        return nowMs - _quietSince >= (long)quietFor.TotalMilliseconds
            && allocatedBytes - _allocatedAtTrim >= Math.Max(MinimumAllocated, heapBytes / 8);
    }

    /// <summary>A trim ran; <paramref name="allocatedBytes"/> is the count after it.</summary>
    public void Trimmed(long allocatedBytes)
    {
        _allocatedAtTrim = allocatedBytes;
        _lastAllocated = allocatedBytes;
    }
}

/// <summary>Gives the free memory of the C library's heap back to the system, where that C library can (glibc).</summary>
internal static class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>True when glibc's <c>malloc_trim</c> ran; false where there is none (musl, as on Alpine, or not Linux).</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }

        try
        {
            _ = MallocTrim(0);
            return true;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    // By glibc's soname, which every glibc system has (libc.so, which a bare "libc" would also be tried as, is a
    // linker script that only the C development package installs); where it is missing there is no malloc_trim.
    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
#pragma warning disable SYSLIB1054 // A blittable signature: nothing to generate.
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}
