using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>What an operator's Prometheus scrapes from <c>/metrics</c> after traffic whose every figure is known.</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Scraped_metrics_count_the_connections_messages_bytes_sessions_and_latency_of_known_traffic()
    {
        await using var broker = await ObservedBroker.StartAsync();
        var subscriber = await TestClient.ConnectAsync(broker.MqttPort, "metrics-sub", configure: o => o.WithCleanSession(false));
        await subscriber.SubscribeAsync("metrics/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await using (var publisher = await TestClient.ConnectAsync(broker.MqttPort, "metrics-pub"))
        {
            for (var i = 0; i < 5; i++)
            {
                await publisher.PublishAsync("metrics/a", "hello", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            for (var i = 0; i < 3; i++)
            {
                await publisher.PublishAsync("metrics/b", "hi", MqttQualityOfServiceLevel.AtMostOnce);
            }

            for (var i = 0; i < 8; i++)
            {
                await subscriber.ReceiveAsync($"message {i} of 8");
            }
        }

        var scrape = await broker.WaitForMetricsAsync(
            s => s.Value("mqtt_connections_closed_total", "reason=client") == 1 && s.Value("mqtt_messages_sent_total") == 8
                && s.Value("mqtt_subscriptions") == 1 && s.Value("mqtt_sessions", "state=online") == 1,
            "the publisher's DISCONNECT, 8 messages sent, the subscription and only the subscriber's session online");
        Assert.Equal(5, scrape.Value("mqtt_messages_received_total", "qos=1"));
        Assert.Equal(3, scrape.Value("mqtt_messages_received_total", "qos=0"));
        Assert.Equal(0, scrape.Value("mqtt_messages_received_total", "qos=2"));
        Assert.Equal(5, scrape.Value("mqtt_messages_sent_total", "qos=1"));
        Assert.Equal(3, scrape.Value("mqtt_messages_sent_total", "qos=0"));
        Assert.Equal(25, scrape.Value("mqtt_payload_received_bytes_total", "qos=1"));
        Assert.Equal(6, scrape.Value("mqtt_payload_received_bytes_total", "qos=0"));
        Assert.Equal(31, scrape.Value("mqtt_payload_sent_bytes_total"));
        Assert.True(scrape.Value("mqtt_network_received_bytes_total") > 31 + 8 * "metrics/a".Length, "wire bytes in include headers and topics");
        Assert.True(scrape.Value("mqtt_network_sent_bytes_total") > 31 + 8 * "metrics/a".Length, "wire bytes out include headers and topics");
        Assert.Equal(2, scrape.Value("mqtt_connections_opened_total"));
        Assert.Equal(1, scrape.Value("mqtt_connections"));
        Assert.Equal(8, scrape.Value("mqtt_message_latency_seconds_count"));
        Assert.True(scrape.Value("mqtt_message_latency_seconds_bucket", "le=+Inf") == 8);
        Assert.Equal(1, scrape.Value("mqtt_sessions", "state=online"));
        Assert.Equal(0, scrape.Value("mqtt_messages_dropped_total"));
        Assert.True(scrape.Has("dotnet_gc_collections_total"), "the runtime's own instruments are exported too");

        // The subscriber's device loses power: its persistent session goes offline and queues what comes next.
        subscriber.Drop();
        await using (var publisher = await TestClient.ConnectAsync(broker.MqttPort, "metrics-pub"))
        {
            await broker.WaitForMetricsAsync(s => s.Value("mqtt_sessions", "state=offline") == 1, "the session offline");
            await publisher.PublishAsync("metrics/a", "queued", MqttQualityOfServiceLevel.AtLeastOnce);
            await publisher.PublishAsync("metrics/a", "queued", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        // The publisher's session ends with its connection; the directory hears of it by a one-way call.
        scrape = await broker.WaitForMetricsAsync(
            s => s.Value("mqtt_messages_queued") == 2 && s.Value("mqtt_sessions", "state=online") == 0,
            "two messages queued for the offline session and no session online");
        Assert.Equal(1, scrape.Value("mqtt_connections_closed_total", "reason=network"));
        Assert.Equal(1, scrape.Value("mqtt_sessions", "state=offline"));
        Assert.Equal(7, scrape.Value("mqtt_messages_received_total", "qos=1"));
    }

    [Fact]
    public async Task A_silo_without_an_MQTT_listener_serves_its_session_gauges_and_a_gateway_its_connection_counters()
    {
        var ports = FreePorts.Get(2);
        var cluster = new Dictionary<string, string>
        {
            ["Orleans__ClusterId"] = "metrics-" + Guid.NewGuid().ToString("N"),
            ["Orleans__SiloPort"] = ports[0].ToString(),
            ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
            ["Orleans__GatewayPort"] = ports[1].ToString(),
        };
        await using var silo = await ObservedBroker.StartAsync(new Dictionary<string, string> { ["Mqtt__Tcp__Enabled"] = "false" }, "Silo", cluster);
        await using var gateway = await ObservedBroker.StartAsync(program: "Gateway", cluster: cluster);

        await using var client = await TestClient.ConnectAsync(gateway.MqttPort, "split-client", MqttProtocolVersion.V500);
        await client.SubscribeAsync("split/+/state");
        await client.SubscribeAsync("split/alarms");

        var siloScrape = await silo.WaitForMetricsAsync(s => s.Value("mqtt_sessions", "state=online") == 1 && s.Value("mqtt_subscriptions") == 2, "one session online with two subscriptions");
        Assert.Equal(0, siloScrape.Value("mqtt_connections"));
        var gatewayScrape = await gateway.ScrapeAsync();
        Assert.Equal(1, gatewayScrape.Value("mqtt_connections"));
        Assert.Equal(1, gatewayScrape.Value("mqtt_connections_opened_total"));
    }
}
