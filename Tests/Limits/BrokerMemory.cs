namespace OrleansMqtt.Tests.Limits;

/// <summary>What a broker process holds in memory, as the kernel counts it.</summary>
public static class BrokerMemory
{
    /// <summary>VmRSS of the process, in bytes, from /proc/&lt;pid&gt;/status.</summary>
    public static long ResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
