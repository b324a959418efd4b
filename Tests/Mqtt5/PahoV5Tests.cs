using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>A Python paho client speaking MQTT 5 uses shared subscriptions, topic aliases and subscription identifiers.</summary>
[Collection(BrokerCollection.Name)]
public sealed class PahoV5Tests(BrokerFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly int _port = fixture.Broker.Port;

    private ExternalProcess Paho(string mode, string topic, int count, params string[] extra) =>
        ExternalProcess.Start("/usr/bin/python3", [
            Path.Combine(AppContext.BaseDirectory, "Interop", "paho_client.py"), mode, "--port", _port.ToString(), "--topic", topic,
            "--qos", "1", "--count", count.ToString(), "--version", "5", "--client-id", mode + "-" + Guid.NewGuid().ToString("N")[..16], .. extra]);

    private static string[] Lines(ExternalProcess process) =>
        [.. process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l != "READY")];

    [Fact]
    public async Task A_paho_member_of_a_shared_subscription_gets_its_share()
    {
        var topic = $"paho/{Guid.NewGuid():N}/jobs";
        await using var paho = Paho("sub", $"$share/workers/{topic}", count: 5);
        await paho.WaitForLineAsync("READY", Patience);
        await using var other = await TestClient.ConnectAsync(_port, "member-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await other.SubscribeAsync($"$share/workers/{topic}", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);

        for (var i = 0; i < 10; i++)
        {
            await publisher.PublishAsync(topic, i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        // Two members, round robin: five each, together all ten once.
        Assert.Equal(0, await paho.WaitForExitAsync(Patience));
        var pahoGot = Lines(paho);
        var otherGot = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            otherGot.Add((await other.ReceiveAsync($"share {i} of the other member")).Text());
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()).Order(), pahoGot.Concat(otherGot).Order());
    }

    [Fact]
    public async Task A_paho_subscriber_gets_its_subscription_identifier_with_each_message()
    {
        var topic = $"paho/{Guid.NewGuid():N}/ids";
        await using var paho = Paho("sub", topic, count: 2, "--sub-id", "17", "--details");
        await paho.WaitForLineAsync("READY", Patience);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await publisher.PublishAsync(topic, "a", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic, "b", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Equal(0, await paho.WaitForExitAsync(Patience));
        Assert.Equal([$"a|{topic}|17|", $"b|{topic}|17|"], Lines(paho));
    }

    [Fact]
    public async Task The_broker_aliases_topics_for_a_paho_client_that_accepts_aliases()
    {
        var topic = $"paho/{Guid.NewGuid():N}/alias";
        await using var paho = Paho("sub", topic, count: 2, "--topic-alias-max", "4", "--details");
        await paho.WaitForLineAsync("READY", Patience);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await publisher.PublishAsync(topic, "a", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic, "b", MqttQualityOfServiceLevel.AtLeastOnce);

        // paho 1.6 prints the topic as it came on the wire: in full with the alias, then the alias alone.
        Assert.Equal(0, await paho.WaitForExitAsync(Patience));
        Assert.Equal([$"a|{topic}||1", "b|||1"], Lines(paho));
    }

    [Fact]
    public async Task A_paho_publisher_may_publish_with_a_topic_alias()
    {
        var topic = $"paho/{Guid.NewGuid():N}/alias";
        await using var subscriber = await TestClient.ConnectAsync(_port, "sub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var paho = Paho("pub", topic, count: 3, "--topic-alias", "2");
        Assert.Equal(0, await paho.WaitForExitAsync(Patience));

        for (var i = 0; i < 3; i++)
        {
            var got = await subscriber.ReceiveAsync($"message {i} published with an alias");
            Assert.Equal((topic, $"msg-{i}"), (got.Topic, got.Text()));
        }
    }
}
