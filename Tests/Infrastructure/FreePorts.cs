using System.Net;
using System.Net.Sockets;

namespace OrleansMqtt.Tests.Infrastructure;

public static class FreePorts
{
    /// <summary>Ports free on 127.0.0.1 right now, all different (listeners are held until all are chosen).</summary>
    public static int[] Get(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
