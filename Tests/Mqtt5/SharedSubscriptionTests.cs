using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

[Collection(BrokerCollection.Name)]
public sealed class SharedSubscriptionTests(BrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;
    private readonly IGrainFactory _grains = fixture.Broker.Grains;

    [Theory]
    [InlineData(MqttProtocolVersion.V500, "exact")]
    [InlineData(MqttProtocolVersion.V500, "wildcard")]
    [InlineData(MqttProtocolVersion.V311, "exact")]
    public async Task Each_message_goes_to_one_member_of_the_group_and_to_every_plain_subscriber(MqttProtocolVersion version, string kind)
    {
        var root = $"shared/{Guid.NewGuid():N}";
        var filter = kind == "exact" ? $"{root}/jobs" : $"{root}/+";
        var members = new List<TestClient>();
        for (var i = 0; i < 3; i++)
        {
            var member = await TestClient.ConnectAsync(_port, $"worker{i}-" + Guid.NewGuid().ToString("N"), version);
            await member.SubscribeAsync($"$share/workers/{filter}", MqttQualityOfServiceLevel.AtLeastOnce);
            await member.SubscribeAsync($"{root}/end", MqttQualityOfServiceLevel.AtLeastOnce);
            members.Add(member);
        }

        await using var monitor = await TestClient.ConnectAsync(_port, "monitor-" + Guid.NewGuid().ToString("N"), version);
        await monitor.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        await monitor.SubscribeAsync($"{root}/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), version);

        const int count = 30;
        for (var i = 0; i < count; i++)
        {
            await publisher.PublishAsync($"{root}/jobs", i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await publisher.PublishAsync($"{root}/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);

        var perMember = new List<string[]>();
        foreach (var member in members)
        {
            perMember.Add([.. (await member.ReceiveUntilAsync($"{root}/end")).Select(m => m.Text())]);
            await member.DisposeAsync();
        }

        Assert.Equal(Enumerable.Range(0, count).Select(i => i.ToString()).Order(), perMember.SelectMany(m => m).Order());
        Assert.All(perMember, got => Assert.NotEmpty(got));
        Assert.Equal(count, (await monitor.ReceiveUntilAsync($"{root}/end")).Count);
    }

    [Fact]
    public async Task A_message_held_by_a_member_whose_session_ends_goes_to_another_member()
    {
        var topic = $"shared/{Guid.NewGuid():N}/jobs";
        var quitterId = "quitter-" + Guid.NewGuid().ToString("N");
        var quitter = await TestClient.ConnectAsync(_port, quitterId, MqttProtocolVersion.V500, autoAcknowledge: false);
        await quitter.SubscribeAsync($"$share/g/{topic}", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var stayer = await TestClient.ConnectAsync(_port, "stayer-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await stayer.SubscribeAsync($"$share/g/{topic}", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);

        // Round robin: of two messages, each member gets one. The quitter never acknowledges its one.
        await publisher.PublishAsync(topic, "a", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic, "b", MqttQualityOfServiceLevel.AtLeastOnce);
        var held = (await quitter.ReceiveAsync("the quitter's share")).Text();
        var kept = (await stayer.ReceiveAsync("the stayer's share")).Text();
        Assert.Equal(["a", "b"], new[] { held, kept }.Order());

        quitter.Drop();
        var handedOver = await stayer.ReceiveAsync("the message the quitter held, handed over when its session ended");
        Assert.Equal(held, handedOver.Text());
    }

    [Fact]
    public async Task Retained_messages_are_not_sent_to_a_new_shared_subscription()
    {
        var topic = $"shared/{Guid.NewGuid():N}/state";
        await using var publisher = await TestClient.ConnectAsync(_port, "pub-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await publisher.PublishAsync(topic, "retained", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);

        await using var member = await TestClient.ConnectAsync(_port, "m-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await member.SubscribeAsync($"$share/g/{topic}", MqttQualityOfServiceLevel.AtLeastOnce);
        await member.SubscribeAsync(topic + "/end", MqttQualityOfServiceLevel.AtLeastOnce);
        await publisher.PublishAsync(topic + "/end", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await member.ReceiveUntilAsync(topic + "/end"));
    }

    [Fact]
    public async Task The_broker_says_shared_subscriptions_are_available()
    {
        await using var client = await TestClient.ConnectAsync(_port, "caps-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        Assert.True(client.ConnectResult.SharedSubscriptionAvailable);
    }
}
