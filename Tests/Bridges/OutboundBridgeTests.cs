using System.Diagnostics.Metrics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;
using Wire = OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>MQTT → Azure Storage Queue (Azurite): what a backend reading the queue sees.</summary>
public sealed class OutboundBridgeTests
{
    [Fact]
    public async Task Numbered_QoS_1_messages_of_several_publishers_all_reach_the_queue_in_order_per_publisher()
    {
        const int publishers = 3;
        const int count = 150;
        var azurite = await Azurite.SharedAsync();
        var id = BridgeTesting.NewId();
        var queueName = $"out-{id}";
        using var forwarded = new ForwardedCounter(queueName);
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = azurite.ConnectionString,
            ["Mqtt:Bridges:Outbound:0:Filter"] = $"fleet/{id}/+/telemetry",
            ["Mqtt:Bridges:Outbound:0:Queue"] = queueName,
        });
        await broker.WaitForOutboundAsync(queueName);

        var clients = new List<TestClient>();
        for (var p = 0; p < publishers; p++)
        {
            clients.Add(await TestClient.ConnectAsync(broker.Port, $"device-{id}-{p}"));
        }

        // Each publisher sends its numbers as fast as PUBACKs come back, all publishers at once.
        await Task.WhenAll(clients.Select((client, p) => Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var result = await client.PublishAsync($"fleet/{id}/{p}/telemetry", i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
                Assert.True(result.IsSuccess, $"publisher {p} message {i}: {result.ReasonCode}");
            }
        })));
        await clients[0].PublishAsync($"fleet/{id}/0/other", "not for the queue", MqttQualityOfServiceLevel.AtLeastOnce);

        var queue = BridgeTesting.Queue(azurite.ConnectionString, queueName);
        var envelopes = await BridgeTesting.ReadNumbersAsync(queue, publishers, count);
        var byPublisher = BridgeTesting.NumbersByPublisher(envelopes);
        Assert.Equal(publishers, byPublisher.Count);
        for (var p = 0; p < publishers; p++)
        {
            BridgeTesting.AssertCompleteAndInOrder($"device-{id}-{p}", byPublisher[$"device-{id}-{p}"], count);
        }

        var first = envelopes.First(e => e.GetProperty("clientId").GetString() == $"device-{id}-0");
        Assert.Equal($"fleet/{id}/0/telemetry", first.GetProperty("topic").GetString());
        Assert.Equal(1, first.GetProperty("qos").GetInt32());
        Assert.False(first.GetProperty("retain").GetBoolean());
        Assert.Equal("base64", first.GetProperty("payloadEncoding").GetString());
        Assert.True((DateTime.UtcNow - first.GetProperty("timestamp").GetDateTime()).Duration() < TimeSpan.FromMinutes(5));

        await Task.Delay(500);
        Assert.Empty((await queue.ReceiveMessagesAsync(32)).Value);
        Assert.True(forwarded.Total >= publishers * count, $"mqtt.bridge.forwarded counted {forwarded.Total}");
        var info = await broker.Grains.GetGrain<IOutboundBridgeGrain>(queueName).GetInfo();
        Assert.True(info.Forwarded >= publishers * count, $"the bridge counted {info.Forwarded} forwarded");

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_v5_message_carries_its_properties_and_UTF_8_text_into_the_envelope()
    {
        var azurite = await Azurite.SharedAsync();
        var id = BridgeTesting.NewId();
        var queueName = $"props-{id}";
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            // The silo's storage account serves the bridges when they name none.
            ["Azure:Storage:ConnectionString"] = azurite.ConnectionString,
            ["Mqtt:Bridges:Outbound:0:Filter"] = $"props/{id}/#",
            ["Mqtt:Bridges:Outbound:0:Queue"] = queueName,
        });
        await broker.WaitForOutboundAsync(queueName);
        await using var device = await TestClient.ConnectAsync(broker.Port, $"v5-{id}", MqttProtocolVersion.V500);
        await device.Client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"props/{id}/state")
            .WithPayload("héllo")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag()
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithContentType("text/plain")
            .WithResponseTopic($"replies/{id}")
            .WithCorrelationData([1, 2, 3])
            .WithUserProperty("site", "north"u8.ToArray())
            .Build());

        var envelope = (await BridgeTesting.ReadAsync(BridgeTesting.Queue(azurite.ConnectionString, queueName), 1)).Single();
        Assert.Equal("héllo", envelope.GetProperty("payload").GetString());
        Assert.Equal("utf8", envelope.GetProperty("payloadEncoding").GetString());
        Assert.True(envelope.GetProperty("retain").GetBoolean());
        Assert.Equal($"v5-{id}", envelope.GetProperty("clientId").GetString());
        var properties = envelope.GetProperty("properties");
        Assert.Equal(1, properties.GetProperty("payloadFormatIndicator").GetInt32());
        Assert.Equal("text/plain", properties.GetProperty("contentType").GetString());
        Assert.Equal($"replies/{id}", properties.GetProperty("responseTopic").GetString());
        Assert.Equal([1, 2, 3], properties.GetProperty("correlationData").GetBytesFromBase64());
        var user = properties.GetProperty("userProperties")[0];
        Assert.Equal(("site", "north"), (user.GetProperty("name").GetString(), user.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task A_device_cannot_take_the_client_id_of_a_bridge()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var raw = await RawMqttClient.OpenAsync(broker.Port);
        var connAck = await raw.ConnectAsync(new Wire.ConnectPacket { ClientId = BridgeClientIds.Outbound("some-queue"), CleanStart = true });
        Assert.Equal(Wire.ReasonCode.ClientIdentifierNotValid, connAck.ReasonCode);
    }

    /// <summary>Sums mqtt.bridge.forwarded for one queue, as a metrics exporter would see it.</summary>
    private sealed class ForwardedCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public ForwardedCounter(string queue)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "OrleansMqtt" && instrument.Name == "mqtt.bridge.forwarded")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "queue" && (string?)tag.Value == queue)
                    {
                        Interlocked.Add(ref _total, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
