using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// A session holds at most Mqtt:Sessions:MaxSessionBytes of messages, queued and in flight together: what does not
/// fit meets the overflow policy, counted, and the publisher and the other subscribers carry on as if nothing happened.
/// </summary>
public sealed class SessionByteLimitTests
{
    private const int Limit = 64 * 1024;
    private const int PayloadSize = 4000;

    [Theory]
    [InlineData(QueueOverflowPolicy.DropNewest)]
    [InlineData(QueueOverflowPolicy.DropOldest)]
    public async Task An_offline_session_holds_messages_up_to_its_byte_bound_and_drops_the_rest_by_its_policy(QueueOverflowPolicy policy)
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Sessions:MaxSessionBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:Sessions:QueueOverflow"] = policy.ToString(),
        });
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"dev-{id}";
        var topic = $"bytes/{id}/t";
        await using (var device = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, Persistent))
        {
            await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            await device.DisconnectAsync();
        }

        await broker.Grains.WaitUntilOfflineAsync(clientId);
        // A dashboard on the same topic, at QoS 0: nothing it is sent is held for it, so the bound never drops its messages.
        await using var watcher = await TestClient.ConnectAsync(broker.Port, $"watch-{id}", MqttProtocolVersion.V500);
        await watcher.SubscribeAsync(topic);

        // 40 messages of 4 KB: about 160 KB for a session that may hold 64 KB. Every one is acknowledged.
        await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
        const int Count = 40;
        for (var i = 0; i < Count; i++)
        {
            var result = await publisher.PublishAsync(topic, Numbered(i), MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
        }

        var info = await broker.Grains.GetGrain<ISessionGrain>(clientId).GetInfo();
        var held = info.Queued;
        Assert.InRange(held, Limit / (PayloadSize + 200), Limit / PayloadSize);
        Assert.Equal(Count - held, info.Dropped);
        Assert.InRange(info.HeldBytes, held * PayloadSize, Limit);

        // A message larger than the whole bound on its own: the watcher gets it, the session counts it as dropped.
        var large = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(new byte[Limit + 1])
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.Success, large.ReasonCode);
        var after = await broker.Grains.GetGrain<ISessionGrain>(clientId).GetInfo();
        Assert.Equal((held, Count - held + 1L), (after.Queued, after.Dropped));

        var watched = new List<int>();
        for (var i = 0; i <= Count; i++)
        {
            var message = await watcher.ReceiveAsync($"message {i} of the publisher");
            watched.Add(message.Payload.Length > Limit ? Count : Index(message));
        }

        Assert.Equal(Enumerable.Range(0, Count + 1), watched);

        // Back online: the messages held, in order, the first ones kept (DropNewest) or the last (DropOldest).
        await using var back = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, Persistent);
        Assert.True(back.ConnectResult.IsSessionPresent);
        var received = new List<int>();
        for (var i = 0; i < held; i++)
        {
            received.Add(Index(await back.ReceiveAsync($"held message {i} of {held}")));
        }

        var first = policy == QueueOverflowPolicy.DropNewest ? 0 : Count - held;
        Assert.Equal(Enumerable.Range(first, held), received);

        // Once they are acknowledged, the session holds nothing, and takes messages again.
        await broker.Grains.WaitForSessionAsync(clientId, s => s is { Queued: 0, InFlight: 0, HeldBytes: 0 }, "held nothing after its messages were acknowledged");
        await publisher.PublishAsync(topic, Numbered(Count + 1), MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(Count + 1, Index(await back.ReceiveAsync("a message after the session emptied")));
    }

    [Fact]
    public async Task A_session_online_keeps_its_in_flight_window_within_the_bound_and_queues_or_drops_the_rest()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Sessions:MaxSessionBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"slow-{id}";
        var topic = $"bytes/{id}/t";

        // A client that does not acknowledge: everything sent to it stays in flight.
        await using var device = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, Persistent, autoAcknowledge: false);
        await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(MqttClientPublishReasonCode.Success, (await publisher.PublishAsync(topic, Numbered(i), MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        }

        var info = await broker.Grains.GetGrain<ISessionGrain>(clientId).GetInfo();
        Assert.Equal(0, info.Queued);
        Assert.InRange(info.InFlight, Limit / (PayloadSize + 200), Limit / PayloadSize);
        Assert.Equal(30 - info.InFlight, info.Dropped);
        Assert.InRange(info.HeldBytes, info.InFlight * PayloadSize, Limit);
        var sent = new List<int>();
        for (var i = 0; i < info.InFlight; i++)
        {
            sent.Add(Index(await device.ReceiveAsync($"message {i} in flight")));
        }

        Assert.Equal(Enumerable.Range(0, info.InFlight), sent);
    }

    [Fact]
    public async Task QoS_0_messages_queued_while_offline_are_no_longer_held_once_sent()
    {
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Sessions:MaxSessionBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:Sessions:QueueQos0WhileOffline"] = "true",
        });
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"q0-{id}";
        var topic = $"bytes/{id}/t";
        await using (var device = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, Persistent))
        {
            await device.SubscribeAsync(topic);
            await device.DisconnectAsync();
        }

        await broker.Grains.WaitUntilOfflineAsync(clientId);
        await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);

        // Three rounds of ten: each would take the session past its bound if what was sent stayed counted.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 10; i++)
            {
                await publisher.PublishAsync(topic, Numbered((round * 10) + i));
            }

            // A later QoS 1 publish from the same client is answered after the QoS 0 ones before it were routed.
            await publisher.PublishAsync($"elsewhere/{id}", "sync", MqttQualityOfServiceLevel.AtLeastOnce);
            var offline = await broker.Grains.GetGrain<ISessionGrain>(clientId).GetInfo();
            Assert.Equal((10, 0L), (offline.Queued, offline.Dropped));

            await using var back = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, Persistent);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal((round * 10) + i, Index(await back.ReceiveAsync($"queued QoS 0 message {i} of round {round}")));
            }

            var online = await broker.Grains.GetGrain<ISessionGrain>(clientId).GetInfo();
            Assert.Equal((0, 0L), (online.Queued, online.HeldBytes));
            await back.DisconnectAsync();
            await broker.Grains.WaitUntilOfflineAsync(clientId);
        }
    }

    private static Action<MqttClientOptionsBuilder> Persistent => o => o.WithCleanStart(false).WithSessionExpiryInterval(3600);

    private static string Numbered(int i) => i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + new string('x', PayloadSize - 4);

    private static int Index(MqttApplicationMessage message) => int.Parse(message.Text()[..4], System.Globalization.CultureInfo.InvariantCulture);
}
