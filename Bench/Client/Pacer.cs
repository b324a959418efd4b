using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OrleansMqtt.Bench.Client;

/// <summary>
/// Blocks the calling thread until a <see cref="Stopwatch"/> timestamp. The .NET timers (<see cref="PeriodicTimer"/>,
/// <see cref="Task.Delay(int)"/>) count in the kernel's coarse clock, whose tick is 4 ms on a 250 Hz kernel: a 1 ms
/// timer there fires every 4 ms, and a publisher paced by it sends bursts of four. On Linux this sleeps until an
/// absolute time of the monotonic clock that <see cref="Stopwatch"/> reads, which wakes within tens of microseconds;
/// elsewhere it sleeps whole milliseconds and spins the rest.
/// </summary>
public static partial class Pacer
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsolute = 1;

    private static readonly bool Precise = OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000;

    public static void WaitUntil(long timestamp)
    {
        if (Precise)
        {
            var due = new TimeSpec(timestamp / 1_000_000_000, timestamp % 1_000_000_000);

            // Interrupted by a signal (EINTR): sleep again until the same absolute time.
            while (Stopwatch.GetTimestamp() < timestamp && ClockNanosleep(ClockMonotonic, TimerAbsolute, in due, IntPtr.Zero) != 0)
            {
            }

            return;
        }

        while (Stopwatch.GetTimestamp() < timestamp)
        {
            var left = (timestamp - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            if (left >= 2)
            {
                Thread.Sleep((int)left - 1);
            }
            else
            {
                Thread.SpinWait(20);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct TimeSpec(long Seconds, long Nanoseconds);

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, in TimeSpec request, IntPtr remaining);
}
