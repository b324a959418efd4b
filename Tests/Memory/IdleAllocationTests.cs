using Microsoft.Extensions.DependencyInjection;
using OrleansMqtt.Gateway;
using OrleansMqtt.Tests.Infrastructure;
using Wire = OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Memory;

/// <summary>What idle connections cost a gateway while nothing happens: its once-a-second keep-alive sweep.</summary>
public sealed class IdleAllocationTests
{
    [Fact]
    public async Task The_keep_alive_sweep_allocates_nothing_per_connection()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var clients = new List<RawMqttClient>();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                var client = await RawMqttClient.OpenAsync(broker.Port);
                clients.Add(client);
                Assert.Equal(Wire.ReasonCode.Success, (await client.ConnectAsync(new Wire.ConnectPacket { ClientId = $"idle-{i}", CleanStart = true })).ReasonCode);
            }

            var registry = broker.Services.GetRequiredService<ConnectionRegistry>();
            var sweeps = new long[3];
            for (var round = 0; round < sweeps.Length; round++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var seen = 0;
                foreach (var connection in registry.All)
                {
                    connection.CheckTimeouts(Environment.TickCount64);
                    seen++;
                }

                sweeps[round] = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.Equal(200, seen);
            }

            // A copy of the connection list alone would be 1.6 KB (8 bytes per connection); the sweep's own
            // enumerator is all there is.
            Assert.True(sweeps.Min() <= 256, $"the sweep of 200 connections allocated {string.Join(", ", sweeps)} bytes");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
