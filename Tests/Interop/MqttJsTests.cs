using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Interop;

/// <summary>
/// MQTT.js, the client of Node.js and browsers, over TCP and over WebSocket (the way a browser reaches the broker),
/// with itself and with the mosquitto clients, at every QoS and both protocol versions.
/// </summary>
public sealed class MqttJsTests(MqttJsTests.Fixture fixture) : IClassFixture<MqttJsTests.Fixture>
{
    private static readonly TimeSpan Patience = MosquittoClients.Patience;

    /// <summary>The mqtt package scripts/install-test-tools.sh installs.</summary>
    private static readonly string Modules = Path.Combine(BrokerProcess.RepositoryRoot, ".tools", "mqttjs", "node_modules");

    public static TheoryData<string, int, int> TransportsQosAndVersion
    {
        get
        {
            var data = new TheoryData<string, int, int>();
            foreach (var subscriber in new[] { "ws", "tcp" })
            {
                foreach (var version in new[] { 4, 5 })
                {
                    for (var qos = 0; qos <= 2; qos++)
                    {
                        data.Add(subscriber, qos, version);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(TransportsQosAndVersion))]
    public async Task MqttJs_to_MqttJs_between_WebSocket_and_TCP(string subscriberTransport, int qos, int version)
    {
        var topic = $"interop/js/{Guid.NewGuid():N}";
        var publisherTransport = subscriberTransport == "ws" ? "tcp" : "ws";
        await using var sub = await StartSubscriberAsync(subscriberTransport, topic, qos, version, count: 5);
        await using var pub = StartMqttJs(publisherTransport, "pub", topic, qos, version, count: 5);
        Assert.Equal(0, await pub.WaitForExitAsync(Patience));

        Assert.True(await sub.WaitForExitAsync(Patience) == 0, sub.Describe());
        // v5 properties travel with the message: the user property and content type the publisher set.
        var expected = Enumerable.Range(0, 5).Select(i => version == 5
            ? $"msg-{i}|{topic}|{qos}|false|v{i}|text/plain"
            : $"msg-{i}|{topic}|{qos}|false||");
        Assert.Equal(expected, Messages(sub.Output));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Mosquitto_pub_to_MqttJs_over_WebSocket(int version)
    {
        var topic = $"interop/js/{Guid.NewGuid():N}";
        await using var sub = await StartSubscriberAsync("ws", topic, 2, version, count: 3);
        await MosquittoClients.PublishAsync(fixture.Broker.Port, topic, 2, MosquittoClients.Version(version), ["one", "two", "three"]);

        Assert.True(await sub.WaitForExitAsync(Patience) == 0, sub.Describe());
        Assert.Equal(["one", "two", "three"], Messages(sub.Output).Select(l => l.Split('|')[0]));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task MqttJs_over_WebSocket_to_mosquitto_sub(int version)
    {
        var topic = $"interop/js/{Guid.NewGuid():N}";
        await using var sub = await MosquittoClients.StartSubAsync(fixture.Broker.Port, topic, 2, MosquittoClients.Version(version), count: 3);
        await using var pub = StartMqttJs("ws", "pub", topic, 2, version, count: 3);
        Assert.Equal(0, await pub.WaitForExitAsync(Patience));

        Assert.True(await sub.WaitForExitAsync(Patience) == 0, sub.Describe());
        Assert.Equal(["msg-0", "msg-1", "msg-2"], MosquittoClients.Messages(sub.Output));
    }

    [Fact]
    public async Task A_retained_message_from_MqttJs_reaches_a_later_MqttJs_subscriber_marked_retained_and_can_be_cleared()
    {
        var topic = $"interop/js/{Guid.NewGuid():N}/state";
        await using (var pub = StartMqttJs("ws", "pub", topic, 1, 5, count: 1, "--retain", "--payload", "on"))
        {
            Assert.Equal(0, await pub.WaitForExitAsync(Patience));
        }

        await using (var late = await StartSubscriberAsync("tcp", topic.Replace("/state", "/+"), 1, 4, count: 1))
        {
            Assert.True(await late.WaitForExitAsync(Patience) == 0, late.Describe());
            Assert.Equal([$"on|{topic}|1|true||"], Messages(late.Output));
        }

        // An empty retained message clears it [MQTT-3.3.1-10]: a later subscriber gets nothing.
        await using (var clear = StartMqttJs("tcp", "pub", topic, 1, 4, count: 1, "--retain", "--payload", ""))
        {
            Assert.Equal(0, await clear.WaitForExitAsync(Patience));
        }

        await using var after = await StartSubscriberAsync("ws", topic, 1, 5, count: 1);
        await using var marker = StartMqttJs("tcp", "pub", topic, 1, 5, count: 1, "--payload", "live");
        Assert.Equal(0, await marker.WaitForExitAsync(Patience));
        Assert.True(await after.WaitForExitAsync(Patience) == 0, after.Describe());
        Assert.Equal([$"live|{topic}|1|false|v0|text/plain"], Messages(after.Output));
    }

    private async Task<ExternalProcess> StartSubscriberAsync(string transport, string topic, int qos, int version, int count)
    {
        var sub = StartMqttJs(transport, "sub", topic, qos, version, count);
        await sub.WaitForLineAsync("READY", Patience);
        return sub;
    }

    private ExternalProcess StartMqttJs(string transport, string mode, string topic, int qos, int version, int count, params string[] more) =>
        ExternalProcess.Start("node", [
            Path.Combine(AppContext.BaseDirectory, "Interop", "mqttjs_client.js"), "--mode", mode,
            "--url", transport == "ws" ? $"ws://127.0.0.1:{fixture.HttpPort}/mqtt" : $"mqtt://127.0.0.1:{fixture.Broker.Port}",
            "--topic", topic, "--qos", qos.ToString(), "--count", count.ToString(), "--version", version.ToString(),
            "--client-id", $"js-{mode}-{Guid.NewGuid():N}"[..23], .. more], new Dictionary<string, string> { ["NODE_PATH"] = Modules });

    /// <summary>The message lines of a subscriber's output.</summary>
    private static string[] Messages(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l != "READY")];

    /// <summary>The embedded broker with its HTTP listener, where MQTT over WebSocket is served at /mqtt.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public EmbeddedBroker Broker { get; private set; } = null!;

        public int HttpPort { get; private set; }

        public async Task InitializeAsync()
        {
            HttpPort = FreePorts.Get(1)[0];
            Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
            {
                ["Mqtt:Http:Enabled"] = "true",
                ["Mqtt:Http:Port"] = HttpPort.ToString(),
            });
        }

        public async Task DisposeAsync() => await Broker.DisposeAsync();
    }
}
