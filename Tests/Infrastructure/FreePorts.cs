using System.Net;
using System.Net.Sockets;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// Ports for servers the tests start, stop and start again on the same port (brokers, silos, Azurite).
/// They come from outside the kernel's ephemeral range, so no outgoing connection of this or another test takes one
/// as its local port while its server is down, and each is handed out once per test run, so no two tests share one.
/// </summary>
public static class FreePorts
{
    private static readonly object Gate = new();
    private static readonly HashSet<int> HandedOut = [];
    private static readonly int[] Candidates = OutsideEphemeralRange();

    /// <summary>Ports free on 127.0.0.1 right now, all different, none handed out before.</summary>
    public static int[] Get(int count)
    {
        var ports = new List<int>(count);
        lock (Gate)
        {
            var start = Random.Shared.Next(Candidates.Length);
            for (var i = 0; i < Candidates.Length && ports.Count < count; i++)
            {
                var port = Candidates[(start + i) % Candidates.Length];
                if (!HandedOut.Contains(port) && IsFree(port))
                {
                    HandedOut.Add(port);
                    ports.Add(port);
                }
            }
        }

        return ports.Count == count
            ? [.. ports]
            : throw new InvalidOperationException($"only {ports.Count} of {count} ports free outside the ephemeral range");
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Ports from 10000 up that the kernel never picks for a connection's local end.</summary>
    private static int[] OutsideEphemeralRange()
    {
        var (low, high) = (32768, 60999);
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(range[0]), int.Parse(range[1]));
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return [.. Enumerable.Range(10000, 65536 - 10000).Where(port => port < low || port > high)];
    }
}
