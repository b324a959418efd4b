using System.Globalization;

namespace OrleansMqtt.Bench;

/// <summary>CPU time and resident memory of the broker's processes, read from /proc.</summary>
public static class ProcessStats
{
    // USER_HZ: the unit of utime and stime in /proc/<pid>/stat; 100 on Linux for x86-64 and arm64.
    private const double ClockTicksPerSecond = 100;

    /// <summary>utime + stime of all <paramref name="pids"/>, in seconds; NaN when there are none.</summary>
    public static double CpuSeconds(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0)
        {
            return double.NaN;
        }

        long ticks = 0;
        foreach (var pid in pids)
        {
            // The command name (field 2) may hold spaces and parentheses; the fields after its closing ')' start at 3.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        return ticks / ClockTicksPerSecond;
    }

    /// <summary>VmRSS of all <paramref name="pids"/>, in bytes.</summary>
    public static long ResidentBytes(IReadOnlyList<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    total += long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
                    break;
                }
            }
        }

        return total;
    }

    public static double OwnCpuSeconds() => Environment.CpuUsage.TotalTime.TotalSeconds;
}
