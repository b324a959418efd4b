using System.Text.Json;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>Queue messages that cannot be published go to {queue}-poison with the reason; the others still flow.</summary>
public sealed class PoisonMessageTests
{
    [Fact]
    public async Task Unpublishable_and_repeatedly_received_messages_move_to_the_poison_queue_with_the_reason()
    {
        var azurite = await Azurite.SharedAsync();
        var id = BridgeTesting.NewId();
        var queueName = $"in-{id}";
        var queue = BridgeTesting.Queue(azurite.ConnectionString, queueName);
        await queue.CreateIfNotExistsAsync();

        // A message some reader already received three times without finishing it (a crashed consumer, say).
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { topic = $"poison/{id}/stuck", payload = "stuck" }));
        for (var i = 0; i < 3; i++)
        {
            await BridgeTesting.WaitUntilAsync(async () => (await queue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1))).Value.Length == 1, "the stuck message visible again");
        }

        await queue.SendMessageAsync("this is not JSON");
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { payload = "no topic" }));
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { topic = $"poison/{id}/+", payload = "a wildcard is no topic name" }));
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { topic = $"poison/{id}/ok", payload = "fine", qos = 3 }));

        await BridgeTesting.WaitUntilAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Any(m => m.DequeueCount == 3), "the stuck message visible again");
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = azurite.ConnectionString,
            ["Mqtt:Bridges:Inbound:0:Queue"] = queueName,
            ["Mqtt:Bridges:Inbound:0:MaxDequeueCount"] = "2",
            ["Mqtt:Bridges:Inbound:0:VisibilityTimeout"] = "00:00:02",
            ["Mqtt:Bridges:PollInterval"] = "00:00:00.200",
        });
        await using var device = await TestClient.ConnectAsync(broker.Port, $"device-{id}");
        await device.SubscribeAsync($"poison/{id}/#", MqttQualityOfServiceLevel.AtLeastOnce);

        // The publishable message is queued once the device listens: the bridge starts polling with the broker, and
        // a message it published before the subscription would reach nobody.
        await queue.SendMessageAsync(JsonSerializer.Serialize(new { topic = $"poison/{id}/ok", payload = "fine", qos = 1 }));

        var poison = await BridgeTesting.ReadAsync(BridgeTesting.Queue(azurite.ConnectionString, $"{queueName}-poison"), 5);
        var reasons = poison.ToDictionary(p => p.GetProperty("body").GetString()!, p => p.GetProperty("reason").GetString()!);
        Assert.StartsWith("not a JSON envelope", reasons["this is not JSON"]);
        Assert.Contains("no \"topic\"", reasons[JsonSerializer.Serialize(new { payload = "no topic" })]);
        Assert.Contains("not a valid topic name", reasons[JsonSerializer.Serialize(new { topic = $"poison/{id}/+", payload = "a wildcard is no topic name" })]);
        Assert.Contains("\"qos\" must be 0, 1 or 2", reasons[JsonSerializer.Serialize(new { topic = $"poison/{id}/ok", payload = "fine", qos = 3 })]);
        var stuck = poison.Single(p => p.GetProperty("body").GetString()!.Contains("stuck", StringComparison.Ordinal));
        Assert.StartsWith("received 3 times without being published", stuck.GetProperty("reason").GetString());
        Assert.Equal(4, stuck.GetProperty("dequeueCount").GetInt32());
        Assert.Equal(queueName, stuck.GetProperty("queue").GetString());

        // The good message went through, and the source queue is empty.
        var good = await device.ReceiveAsync("the one publishable message");
        Assert.Equal(("fine", $"poison/{id}/ok"), (good.Text(), good.Topic));
        // The bridge counts the message once the publish call returned, which can be after the device has it, and
        // deletes it after that; until then the message is invisible, not gone, so the queue's count includes it.
        var bridge = broker.Grains.GetGrain<IInboundBridgeGrain>(queueName);
        await BridgeTesting.WaitUntilAsync(async () => (await bridge.GetInfo()).Forwarded > 0, "the bridge counting the message it forwarded");
        await BridgeTesting.WaitUntilAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, $"queue {queueName} empty");
        var info = await bridge.GetInfo();
        Assert.Equal((1, 5), (info.Forwarded, info.Poisoned));
    }
}
