using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Interop;

/// <summary>The Debian mosquitto_pub and mosquitto_sub, as the interoperability tests run them.</summary>
public static class MosquittoClients
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>mosquitto_sub's name for a protocol version: mqttv311 or mqttv5.</summary>
    public static string Version(int version) => version == 5 ? "mqttv5" : "mqttv311";

    /// <summary>Starts mosquitto_sub for <paramref name="count"/> messages and returns once its SUBACK arrived.</summary>
    public static async Task<ExternalProcess> StartSubAsync(int port, string topic, int qos, string version, int count)
    {
        // -d prints the packets, so the test knows when SUBACK arrived; stdbuf makes it print them as they happen.
        var sub = ExternalProcess.Start("stdbuf", ["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", port.ToString(), "-V", version, "-t", topic, "-q", qos.ToString(), "-C", count.ToString(), "-d", "-i", "sub-" + Guid.NewGuid().ToString("N")[..16]]);
        await sub.WaitForLineAsync("SUBACK", Patience);
        return sub;
    }

    /// <summary>Publishes the messages in order over one connection and waits for mosquitto_pub to succeed.</summary>
    public static async Task PublishAsync(int port, string topic, int qos, string version, string[] messages, bool retain = false)
    {
        // -l sends each line of standard input as one message, over one connection and in order.
        List<string> args = ["-h", "127.0.0.1", "-p", port.ToString(), "-V", version, "-t", topic, "-q", qos.ToString(), "-l"];
        if (retain)
        {
            args.Add("-r");
        }

        await using var pub = ExternalProcess.Start("mosquitto_pub", args, standardInput: string.Join('\n', messages) + "\n");
        Assert.Equal(0, await pub.WaitForExitAsync(Patience));
    }

    /// <summary>The payload lines of a client's output, without its debug and status lines.</summary>
    public static string[] Messages(string output, string exclude = "Client ") =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith(exclude, StringComparison.Ordinal) && !l.StartsWith("Subscribed (", StringComparison.Ordinal))];
}
