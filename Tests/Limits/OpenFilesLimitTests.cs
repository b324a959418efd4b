using System.Buffers;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// A connection flood cannot take the process's last file descriptors: beyond what the open-files limit leaves room
/// for, new TCP connections are closed as they are accepted, and the broker keeps serving the ones it holds.
/// </summary>
public sealed partial class OpenFilesLimitTests
{
    private const int OpenFilesLimit = 700;
    private const int Beyond = 40;

    [Fact]
    public async Task Connections_beyond_the_open_files_limit_are_closed_and_the_broker_keeps_serving()
    {
        var (broker, port) = await BrokerProcess.StartEmbeddedAsync("fd", new Dictionary<string, string>
        {
            ["Mqtt__Limits__ConnectRate"] = "0",
            ["Mqtt__Limits__ConnectRatePerSourceIp"] = "0",
        }, OpenFilesLimit);
        await using var _ = broker;

        var announced = RoomLine().Match(broker.Output);
        Assert.True(announced.Success, "the broker did not say how many connections its open-files limit leaves room for:\n" + broker.Output);
        var room = int.Parse(announced.Groups[1].Value);
        Assert.InRange(room, 50, OpenFilesLimit);

        var held = new List<RawMqttClient>();
        var refused = 0;
        try
        {
            for (var i = 0; i < room + Beyond; i++)
            {
                var client = await RawMqttClient.OpenAsync(port);
                try
                {
                    var connAck = await client.ConnectAsync(new ConnectPacket { ClientId = $"fd-{i}-{Guid.NewGuid():N}" });
                    Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
                    held.Add(client);
                }
                catch (Exception ex) when (ex is EndOfStreamException or IOException or SocketException)
                {
                    refused++;
                    await client.DisposeAsync();
                }
            }

            Assert.Equal(room, held.Count);
            Assert.Equal(Beyond, refused);

            // At its limit the broker still serves what it holds.
            var (subscriber, publisher) = (held[0], held[^1]);
            await subscriber.SubscribeAsync(1, new TopicSubscription("fd/test", QualityOfService.AtMostOnce));
            Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);
            await publisher.PublishAsync("fd/test", "still served"u8.ToArray());
            Assert.Equal("still served", System.Text.Encoding.UTF8.GetString((await subscriber.ReadPublishAsync()).Payload.ToArray()));

            // A connection that leaves makes room for a newcomer.
            await held[1].DisposeAsync();
            held.RemoveAt(1);
            await using var newcomer = await ConnectWhenRoomAsync(port);
        }
        finally
        {
            foreach (var client in held)
            {
                await client.DisposeAsync();
            }
        }

        Assert.Contains("Limit open_files hit", broker.Output);
        Assert.DoesNotContain("fail:", broker.Output);
        Assert.DoesNotContain("crit:", broker.Output);
    }

    /// <summary>The gateway counts a connection as gone once its code has ended, a moment after the socket closed.</summary>
    private static async Task<RawMqttClient> ConnectWhenRoomAsync(int port)
    {
        var deadline = DateTime.UtcNow + TestClient.Patience;
        while (true)
        {
            var client = await RawMqttClient.OpenAsync(port);
            try
            {
                var connAck = await client.ConnectAsync(new ConnectPacket { ClientId = "newcomer-" + Guid.NewGuid().ToString("N") });
                Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
                return client;
            }
            catch (Exception ex) when (DateTime.UtcNow < deadline && ex is EndOfStreamException or IOException or SocketException)
            {
                await client.DisposeAsync();
                await Task.Delay(100);
            }
        }
    }

    [GeneratedRegex(@"leaves room for (\d+) MQTT over TCP connections")]
    private static partial Regex RoomLine();
}
