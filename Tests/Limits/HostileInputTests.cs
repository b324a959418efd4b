using System.Net.Sockets;
using OrleansMqtt.Fuzz;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>A broker process (ConnectTimeout 2 s) that hostile connections are thrown at.</summary>
public sealed class HostileBrokerFixture : IAsyncLifetime
{
    public ExternalProcess Broker { get; private set; } = null!;

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        (Broker, Port) = await BrokerProcess.StartEmbeddedAsync("hostile", new Dictionary<string, string>
        {
            ["Mqtt__ConnectTimeout"] = "00:00:02",
            ["Mqtt__KeepAliveSweepInterval"] = "00:00:00.250",
        });
    }

    public async Task DisposeAsync() => await Broker.DisposeAsync();

    /// <summary>Runs a test's body; a failure that is not an assertion's carries what the broker printed.</summary>
    public async Task WithBrokerOutputAsync(Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.GetType().Name}: {ex.Message} (broker on port {Port}, at {DateTime.UtcNow:HH:mm:ss.fff}): {Broker.Describe()}", ex);
        }
    }
}

/// <summary>
/// Slowloris (connections that never finish CONNECT), garbage bytes and mutated packets over real sockets: each such
/// connection is closed, the broker keeps answering everyone else, and its log shows no error.
/// </summary>
public sealed class HostileInputTests(HostileBrokerFixture fixture) : IClassFixture<HostileBrokerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public Task Connections_that_never_complete_CONNECT_are_closed_while_the_broker_keeps_serving() =>
        fixture.WithBrokerOutputAsync(SlowlorisAsync);

    private async Task SlowlorisAsync()
    {
        var idle = new List<TcpClient>();
        var trickling = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", fixture.Port);
                (i % 6 == 0 ? trickling : idle).Add(tcp);
            }

            // A sixth of them send a CONNECT one byte at a time, never finishing it within the timeout.
            var connect = new System.Buffers.ArrayBufferWriter<byte>();
            MqttEncoder.WriteConnect(connect, new ConnectPacket { ClientId = "slowloris", Will = new WillMessage { Topic = "w", Payload = new byte[200] } });
            using var stop = new CancellationTokenSource();
            var trickle = Task.Run(async () =>
            {
                for (var b = 0; b < connect.WrittenCount && !stop.IsCancellationRequested; b++)
                {
                    foreach (var tcp in trickling)
                    {
                        try
                        {
                            await tcp.GetStream().WriteAsync(connect.WrittenMemory.Slice(b, 1));
                        }
                        catch (Exception ex) when (ex is IOException or InvalidOperationException or SocketException)
                        {
                            // Closed by the broker already.
                        }
                    }

                    await Task.Delay(100);
                }
            });

            // Meanwhile everyone else is served.
            await BrokerChecks.AssertServesOthersAsync(fixture.Port);

            // Every one of them is closed by the broker after the CONNECT timeout.
            foreach (var tcp in idle.Concat(trickling))
            {
                Assert.True(await ClosedByBrokerAsync(tcp), "a connection that sent no whole CONNECT is still open");
            }

            await stop.CancelAsync();
            await trickle;
            await fixture.Broker.WaitForLineAsync("Limit connect_timeout hit", Patience);
            await BrokerChecks.AssertServesOthersAsync(fixture.Port);
        }
        finally
        {
            foreach (var tcp in idle.Concat(trickling))
            {
                tcp.Dispose();
            }
        }
    }

    [Fact]
    public Task Garbage_bytes_and_mutated_packets_close_their_connections_and_log_no_error() =>
        fixture.WithBrokerOutputAsync(GarbageAsync);

    private async Task GarbageAsync()
    {
        var random = new Random(6_2026);
        var garbage = new List<Task>();
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[random.Next(1, 8192)];
            random.NextBytes(bytes);
            garbage.Add(SendAndWaitForCloseAsync(bytes, connectFirst: false));
        }

        // Mutated packets of every type after a valid CONNECT, so they reach the connection's handlers.
        for (var i = 0; i < 400; i++)
        {
            var version = i % 2 == 0 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311;
            var stream = new List<byte>();
            for (var p = 0; p < 8; p++)
            {
                stream.AddRange(Mutator.Mutate(PacketGenerator.NextOrPing(random, version), random, null));
            }

            garbage.Add(SendAndWaitForCloseAsync([.. stream], connectFirst: true, version));
            if (garbage.Count >= 60)
            {
                await Task.WhenAll(garbage);
                garbage.Clear();
            }
        }

        await Task.WhenAll(garbage);
        await BrokerChecks.AssertServesOthersAsync(fixture.Port);
        var errors = fixture.Broker.Output.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)
            || l.Contains("Unhandled exception", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, "The broker logged errors:\n" + string.Join('\n', errors));
    }

    /// <summary>Sends the bytes, then disconnects if the broker did not close first (a mutated stream may be valid).</summary>
    private async Task SendAndWaitForCloseAsync(byte[] bytes, bool connectFirst, MqttProtocolVersion version = MqttProtocolVersion.V311)
    {
        await using var client = await RawMqttClient.OpenAsync(fixture.Port);
        if (connectFirst)
        {
            await client.ConnectAsync(new ConnectPacket { ProtocolVersion = version, ClientId = "mutant-" + Guid.NewGuid().ToString("N") });
        }

        try
        {
            await client.SendBytesAsync(bytes);
            await client.SendAsync(MqttEncoder.WritePingReq);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await client.ReadUntilClosedAsync().WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or TimeoutException)
        {
            // Closed while sending, or still open because what was sent happened to be valid: both fine here.
        }
    }

    private static async Task<bool> ClosedByBrokerAsync(TcpClient tcp)
    {
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (await tcp.GetStream().ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
