using System.Net;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Client;

/// <summary>Opens many connections with bounded concurrency, spread over several loopback source addresses.</summary>
public sealed class Connector(BenchOptions options)
{
    /// <summary>How many connections are opened at once.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>
    /// Source addresses 127.0.0.1 .. 127.0.0.N, used in turn: one address has about 28,000 ephemeral ports
    /// (net.ipv4.ip_local_port_range), so more connections than that need more than one.
    /// </summary>
    public int SourceAddresses { get; init; } = 1;

    public ushort KeepAliveSeconds { get; init; } = 60;

    public static IPAddress SourceAddress(int index) => new([127, 0, 0, (byte)(1 + index)]);

    public ConnectPacket ConnectPacket(string clientId, bool cleanStart = true) => new()
    {
        ProtocolVersion = options.Version,
        ClientId = clientId,
        CleanStart = cleanStart,
        KeepAliveSeconds = KeepAliveSeconds,
        // v5: a non-clean session must outlive the connection to be persistent (3.1.2.11.2).
        SessionExpiryInterval = cleanStart ? 0u : 3600u,
        ReceiveMaximum = ushort.MaxValue,
    };

    /// <summary>
    /// Connection <paramref name="index"/> goes to listener <c>index mod n</c> of <c>--ports</c> and comes from source
    /// address <c>index mod </c><see cref="SourceAddresses"/>: the same index lands on the same pair in every process.
    /// </summary>
    public Task<BenchConnection> ConnectAsync(int index, string clientId, bool cleanStart, CancellationToken cancellationToken) =>
        BenchConnection.ConnectAsync(options.Servers[index % options.Servers.Count], SourceFor(index), ConnectPacket(clientId, cleanStart), cancellationToken);

    /// <summary>Connects <paramref name="count"/> clients named by <paramref name="clientId"/>; fails if any fails.</summary>
    public async Task<BenchConnection[]> ConnectManyAsync(int count, Func<int, string> clientId, bool cleanStart, CancellationToken cancellationToken)
    {
        var connections = new BenchConnection[count];
        using var gate = new SemaphoreSlim(Concurrency);
        var tasks = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            await gate.WaitAsync(cancellationToken);
            tasks[i] = Task.Run(async () =>
            {
                try
                {
                    connections[index] = await ConnectAsync(index, clientId(index), cleanStart, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }, cancellationToken);
        }

        await Task.WhenAll(tasks);
        return connections;
    }

    private IPAddress? SourceFor(int index) => SourceAddresses <= 1 ? null : SourceAddress(index % SourceAddresses);
}
