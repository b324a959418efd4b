using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Limits;

/// <summary>An embedded broker whose per-client limits are set low enough for tests to reach.</summary>
public sealed class LimitedBrokerFixture : IAsyncLifetime
{
    public const int PublishRate = 100;
    public const int PublishBurst = 200;
    public const int MaxSubscriptions = 5;
    public const int MaxTopicLength = 64;
    public const int MaxTopicLevels = 4;
    public const int MaxPacketSize = 256 * 1024;
    public const int ReceiveMaximum = 5;
    public const int MaxOutboundMessages = 50;

    public EmbeddedBroker Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
    {
        ["Mqtt:Limits:PublishRate"] = PublishRate.ToString(),
        ["Mqtt:Limits:PublishBurst"] = PublishBurst.ToString(),
        ["Mqtt:Limits:MaxSubscriptionsPerClient"] = MaxSubscriptions.ToString(),
        ["Mqtt:Limits:MaxTopicLength"] = MaxTopicLength.ToString(),
        ["Mqtt:Limits:MaxTopicLevels"] = MaxTopicLevels.ToString(),
        ["Mqtt:Limits:MaxOutboundBytes"] = (1024L * 1024 * 1024).ToString(),
        ["Mqtt:MaxPacketSize"] = MaxPacketSize.ToString(),
        ["Mqtt:ReceiveMaximum"] = ReceiveMaximum.ToString(),
        ["Mqtt:MaxOutboundMessages"] = MaxOutboundMessages.ToString(),
    });

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class LimitedBrokerCollection : ICollectionFixture<LimitedBrokerFixture>
{
    public const string Name = "limited broker";
}

public static class BrokerChecks
{
    /// <summary>A fresh subscriber and publisher still exchange a QoS 1 message: the broker serves others.</summary>
    public static async Task AssertServesOthersAsync(int port)
    {
        var topic = $"bystander/{Guid.NewGuid():N}";
        await using var subscriber = await RawMqttClient.OpenAsync(port);
        Assert.Equal(ReasonCode.Success, (await subscriber.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "bystander-sub-" + Guid.NewGuid().ToString("N") })).ReasonCode);
        await subscriber.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtLeastOnce));
        Assert.Equal(PacketType.SubAck, (await subscriber.ReadFrameAsync()).Type);
        await using var publisher = await RawMqttClient.OpenAsync(port);
        Assert.Equal(ReasonCode.Success, (await publisher.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V311, ClientId = "bystander-pub-" + Guid.NewGuid().ToString("N"), CleanStart = true })).ReasonCode);
        await publisher.PublishAsync(topic, "still here"u8.ToArray(), QualityOfService.AtLeastOnce, 1);
        Assert.Equal(PacketType.PubAck, (await publisher.ReadFrameAsync()).Type);
        var received = await subscriber.ReadPublishAsync();
        Assert.Equal(topic, received.Topic);
    }
}
