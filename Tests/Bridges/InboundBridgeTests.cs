using System.Text;
using System.Text.Json;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>Azure Storage Queue (Azurite) → MQTT: what a backend that enqueues commands gets done.</summary>
public sealed class InboundBridgeTests
{
    [Fact]
    public async Task Messages_a_backend_enqueues_reach_an_MQTT_subscriber_and_leave_the_queue()
    {
        const int count = 60;
        var azurite = await Azurite.SharedAsync();
        var id = BridgeTesting.NewId();
        var queueName = $"cmd-{id}";
        var queue = BridgeTesting.Queue(azurite.ConnectionString, queueName);
        await queue.CreateIfNotExistsAsync();
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = azurite.ConnectionString,
            ["Mqtt:Bridges:Inbound:0:Queue"] = queueName,
            ["Mqtt:Bridges:PollInterval"] = "00:00:00.200",
        });
        await using var device = await TestClient.ConnectAsync(broker.Port, $"device-{id}", MqttProtocolVersion.V500);
        await device.SubscribeAsync($"devices/{id}/#", MqttQualityOfServiceLevel.AtLeastOnce);

        // A plain QueueClient, as any backend service would use: text and binary payloads, one with v5 properties.
        for (var i = 0; i < count; i++)
        {
            var envelope = i % 2 == 0
                ? JsonSerializer.Serialize(new { topic = $"devices/{id}/commands", payload = $"command {i}", qos = 1 })
                : JsonSerializer.Serialize(new { topic = $"devices/{id}/commands", payload = Convert.ToBase64String(Encoding.UTF8.GetBytes($"command {i}")), payloadEncoding = "base64", qos = 1 });
            await queue.SendMessageAsync(envelope);
        }

        await queue.SendMessageAsync(JsonSerializer.Serialize(new
        {
            topic = $"devices/{id}/config",
            payload = "{\"rate\":5}",
            qos = 1,
            retain = true,
            properties = new
            {
                contentType = "application/json",
                responseTopic = $"backend/{id}/acks",
                correlationData = Convert.ToBase64String([7, 7]),
                userProperties = new[] { new { name = "origin", value = "backend" } },
            },
        }));

        var received = new List<string>();
        MQTTnet.MqttApplicationMessage? config = null;
        while (received.Count < count || config is null)
        {
            var message = await device.ReceiveAsync($"the {count} commands and the configuration enqueued by the backend");
            if (message.Topic.EndsWith("/config", StringComparison.Ordinal))
            {
                config = message;
            }
            else
            {
                received.Add(message.Text());
            }
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => $"command {i}").Order(), received.Order());
        Assert.Equal("{\"rate\":5}", config.Text());
        Assert.Equal("application/json", config.ContentType);
        Assert.Equal($"backend/{id}/acks", config.ResponseTopic);
        Assert.Equal([7, 7], config.CorrelationData);
        Assert.Contains(config.UserProperties, p => p.Name == "origin" && Encoding.UTF8.GetString(p.ValueBuffer.Span) == "backend");

        // Deleted once published; the retained configuration is there for a device that comes later.
        await BridgeTesting.WaitUntilAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Length == 0, $"queue {queueName} empty after publishing");
        await using var late = await TestClient.ConnectAsync(broker.Port, $"late-{id}");
        await late.SubscribeAsync($"devices/{id}/config", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("{\"rate\":5}", (await late.ReceiveAsync("the retained configuration")).Text());
        var info = await broker.Grains.GetGrain<IInboundBridgeGrain>(queueName).GetInfo();
        Assert.Equal(count + 1, info.Forwarded);
    }
}
