using System.Net;
using Microsoft.Extensions.Options;
using OrleansMqtt.Gateway;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// The gateway-wide limits over real sockets: connections per gateway (CONNACK 0x89 Server Busy), CONNECT rate per
/// gateway and per source address (0x9F Connection Rate Exceeded); v3.1.1 clients get return code 3. Each test has
/// its own broker, since these limits are the whole gateway's.
/// </summary>
public sealed class ConnectionLimitTests : IDisposable
{
    private readonly LimitHits _hits = new();

    public void Dispose() => _hits.Dispose();

    private static async Task<(RawMqttClient Client, ConnAckPacket ConnAck)> ConnectAsync(int port, MqttProtocolVersion version, IPAddress? source = null)
    {
        var client = await RawMqttClient.OpenAsync(port, source);
        var connAck = await client.ConnectAsync(new ConnectPacket { ProtocolVersion = version, ClientId = "limits-" + Guid.NewGuid().ToString("N") });
        return (client, connAck);
    }

    [Fact]
    public async Task A_CONNECT_beyond_the_gateways_connection_limit_is_refused_as_server_busy_until_one_leaves()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?> { ["Mqtt:Limits:MaxConnections"] = "4" });
        var open = new List<RawMqttClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var (client, connAck) = await ConnectAsync(broker.Port, MqttProtocolVersion.V500);
                open.Add(client);
                Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
            }

            var (v5, refusedV5) = await ConnectAsync(broker.Port, MqttProtocolVersion.V500);
            await using (v5)
            {
                Assert.Equal(ReasonCode.ServerBusy, refusedV5.ReasonCode);
                Assert.Empty(await v5.ReadUntilClosedAsync());
            }

            var (v3, refusedV3) = await ConnectAsync(broker.Port, MqttProtocolVersion.V311);
            await using (v3)
            {
                Assert.Equal(ReasonCode.ServerUnavailable, refusedV3.ReasonCode);
            }

            await _hits.WaitForAsync(LimitNames.Connections, 2);

            // The connected clients were not touched; one leaves and a newcomer gets in.
            await open[0].SendAsync(MqttEncoder.WritePingReq);
            Assert.Equal(PacketType.PingResp, (await open[0].ReadFrameAsync()).Type);
            await open[^1].DisposeAsync();
            open.RemoveAt(open.Count - 1);
            var registry = (Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ConnectionRegistry>(broker.Services));
            var deadline = DateTime.UtcNow + TestClient.Patience;
            while (registry.Count > 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            var (late, admitted) = await ConnectAsync(broker.Port, MqttProtocolVersion.V500);
            open.Add(late);
            Assert.Equal(ReasonCode.Success, admitted.ReasonCode);
        }
        finally
        {
            foreach (var client in open)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task CONNECT_faster_than_the_gateways_rate_is_refused_with_connection_rate_exceeded()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Limits:ConnectRate"] = "1",
            ["Mqtt:Limits:ConnectBurst"] = "3",
            ["Mqtt:Limits:ConnectRatePerSourceIp"] = "0",
        });
        var codes = new List<ReasonCode>();
        for (var i = 0; i < 5; i++)
        {
            var (client, connAck) = await ConnectAsync(broker.Port, i == 4 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500);
            await using (client)
            {
                codes.Add(connAck.ReasonCode);
            }
        }

        // Three in the burst (at most one more refilled meanwhile); the rest refused, v3 with return code 3.
        Assert.Equal(ReasonCode.Success, codes[0]);
        Assert.Contains(ReasonCode.ConnectionRateExceeded, codes);
        Assert.Equal(ReasonCode.ServerUnavailable, codes[4]);
        await _hits.WaitForAsync(LimitNames.ConnectRate, 2);
    }

    [Fact]
    public async Task CONNECT_faster_than_the_rate_of_one_source_address_is_refused_for_it_and_not_for_others()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Limits:ConnectRatePerSourceIp"] = "1",
            ["Mqtt:Limits:ConnectBurstPerSourceIp"] = "3",
        });
        var flooder = IPAddress.Parse("127.0.0.3");
        var codes = new List<ReasonCode>();
        for (var i = 0; i < 6; i++)
        {
            var (client, connAck) = await ConnectAsync(broker.Port, MqttProtocolVersion.V500, flooder);
            await using (client)
            {
                codes.Add(connAck.ReasonCode);
            }
        }

        Assert.Equal(ReasonCode.Success, codes[0]);
        Assert.Equal(ReasonCode.ConnectionRateExceeded, codes[^1]);
        await _hits.WaitForAsync(LimitNames.ConnectRatePerSourceIp);

        // Another address is not held back by the first one's flood.
        var (other, admitted) = await ConnectAsync(broker.Port, MqttProtocolVersion.V500, IPAddress.Parse("127.0.0.4"));
        await using (other)
        {
            Assert.Equal(ReasonCode.Success, admitted.ReasonCode);
        }
    }

    [Fact]
    public async Task A_bad_limit_stops_the_broker_at_start_with_a_message_that_names_the_setting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EmbeddedBroker.StartAsync(new Dictionary<string, string?> { ["Mqtt:Limits:MaxTopicLevels"] = "0" }));
        Assert.Contains("Mqtt:Limits:MaxTopicLevels", error.Message, StringComparison.Ordinal);
    }
}
