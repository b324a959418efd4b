using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>
/// The ACL file of <see cref="EdgeBrokerFixture"/> at work: per user, per client, per claim and by pattern, for
/// SUBSCRIBE and PUBLISH separately, wills and retained messages included.
/// </summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class AclTests(EdgeBrokerFixture fixture)
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttClientSubscribeResultCode.UnspecifiedError)]
    [InlineData(MqttProtocolVersion.V500, MqttClientSubscribeResultCode.NotAuthorized)]
    public async Task A_subscription_outside_the_users_rules_is_refused_and_the_others_in_the_packet_granted(MqttProtocolVersion version, MqttClientSubscribeResultCode refused)
    {
        await using var alice = await AliceAsync(version);
        var result = await alice.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("sensors/+/temp", MqttQualityOfServiceLevel.AtLeastOnce)
            .WithTopicFilter("elsewhere/#")
            .WithTopicFilter("users/alice/#")
            .WithTopicFilter("users/bob/#")
            .Build());
        Assert.Equal(
            [MqttClientSubscribeResultCode.GrantedQoS1, refused, MqttClientSubscribeResultCode.GrantedQoS0, refused],
            result.Items.Select(i => i.ResultCode));
    }

    [Fact]
    public async Task A_filter_that_could_reach_a_denied_topic_is_refused_whole()
    {
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(alice, "sensors/#"));
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(alice, "sensors/secret"));
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(alice, "$share/g/sensors/+"));
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, await SubscribeAsync(alice, "$share/g/sensors/+/temp"));
    }

    [Fact]
    public async Task A_v5_publish_outside_the_rules_is_answered_with_0x87_and_not_delivered()
    {
        var topic = "elsewhere/" + Guid.NewGuid().ToString("N");
        await using var bob = await BobAsync();
        await bob.SubscribeAsync("elsewhere/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await bob.SubscribeAsync("sensors/marker/+", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);

        var denied = await alice.PublishAsync(topic, "not allowed", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, denied.ReasonCode);
        var secret = await alice.PublishAsync("sensors/secret", "denied though sensors/# is allowed", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, secret.ReasonCode);
        var marker = "sensors/marker/" + Guid.NewGuid().ToString("N");
        await alice.PublishAsync(marker, "end", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Empty(await bob.ReceiveUntilAsync(marker));
    }

    [Theory]
    [InlineData(MqttQualityOfServiceLevel.AtMostOnce)]
    [InlineData(MqttQualityOfServiceLevel.AtLeastOnce)]
    [InlineData(MqttQualityOfServiceLevel.ExactlyOnce)]
    public async Task A_v3_publish_outside_the_rules_is_acknowledged_and_dropped(MqttQualityOfServiceLevel qos)
    {
        await using var bob = await BobAsync();
        await bob.SubscribeAsync("elsewhere/#", MqttQualityOfServiceLevel.AtLeastOnce);
        await bob.SubscribeAsync("sensors/marker/+", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var alice = await AliceAsync(MqttProtocolVersion.V311);

        var result = await alice.PublishAsync("elsewhere/" + Guid.NewGuid().ToString("N"), "dropped", qos);
        Assert.True(result.IsSuccess);
        var marker = "sensors/marker/" + Guid.NewGuid().ToString("N");
        await alice.PublishAsync(marker, "end", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Empty(await bob.ReceiveUntilAsync(marker));
        Assert.True(alice.Client.IsConnected);
    }

    [Fact]
    public async Task Patterns_give_each_client_its_own_tree_by_client_id()
    {
        var clientId = EdgeConnect.NewId("dev");
        await using var bob = await TestClient.ConnectAsync(fixture.Port, clientId, MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Bob, EdgeBrokerFixture.BobPassword));
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, (await bob.PublishAsync($"devices/{clientId}/state", "on", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await bob.PublishAsync("devices/someone-else/state", "on", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
    }

    [Fact]
    public async Task Patterns_with_the_user_name_apply_per_user_and_split_read_from_write()
    {
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await alice.PublishAsync("users/alice/inbox", "x", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, (await alice.PublishAsync("users/alice/out/1", "x", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, await SubscribeAsync(alice, "users/alice/#"));
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(alice, "users/bob/#"));
    }

    [Fact]
    public async Task A_client_section_applies_to_that_client_id_whoever_its_user()
    {
        await using var special = await TestClient.ConnectAsync(fixture.Port, "special-client", MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword));
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, (await special.PublishAsync("special/x", "x", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await alice.PublishAsync("special/x", "x", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
    }

    [Fact]
    public async Task A_claim_section_applies_to_tokens_that_carry_the_claim()
    {
        var adminId = EdgeConnect.NewId("admin");
        var adminToken = TestTokens.Create(fixture.Tokens.Hs256, "ops", adminId, claims: new Dictionary<string, object> { ["role"] = "admin" });
        await using var admin = await TestClient.ConnectAsync(fixture.Port, adminId, MqttProtocolVersion.V500, b => b.WithCredentials("ops", Encoding.UTF8.GetBytes(adminToken)));
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, await SubscribeAsync(admin, "admin/#"));

        var userId = EdgeConnect.NewId("user");
        var userToken = TestTokens.Create(fixture.Tokens.Hs256, "ops", userId, claims: new Dictionary<string, object> { ["role"] = "viewer" });
        await using var user = await TestClient.ConnectAsync(fixture.Port, userId, MqttProtocolVersion.V500, b => b.WithCredentials("ops", Encoding.UTF8.GetBytes(userToken)));
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(user, "admin/#"));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_will_on_a_topic_the_client_may_not_publish_to_refuses_the_connect(MqttProtocolVersion version)
    {
        var (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("will"), version, b => b
            .WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword)
            .WithWillTopic("elsewhere/will").WithWillPayload("gone"));
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, code);

        (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("will"), version, b => b
            .WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword)
            .WithWillTopic("sensors/alice/status").WithWillPayload("gone"));
        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }

    [Fact]
    public async Task A_retained_message_is_kept_only_where_the_client_may_publish()
    {
        var suffix = Guid.NewGuid().ToString("N");
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);
        var refused = await alice.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("retained/bob/" + suffix).WithPayload("x").WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        await alice.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("retained/alice/" + suffix).WithPayload("kept").WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        var bobId = EdgeConnect.NewId("bob");
        await using var bob = await TestClient.ConnectAsync(fixture.Port, bobId, MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Bob, EdgeBrokerFixture.BobPassword));
        await bob.SubscribeAsync("retained/+/" + suffix, MqttQualityOfServiceLevel.AtLeastOnce);
        var retained = await bob.ReceiveAsync("the retained message alice may publish");
        Assert.Equal(("retained/alice/" + suffix, "kept"), (retained.Topic, retained.Text()));

        // Bob's own device tree carries the marker: retained messages come before anything published after SUBSCRIBE.
        var marker = $"devices/{bobId}/marker";
        await bob.SubscribeAsync(marker);
        await bob.PublishAsync(marker, "end");
        Assert.Empty(await bob.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Only_a_user_with_a_rule_on_SYS_reads_the_broker_figures()
    {
        await using var monitor = await TestClient.ConnectAsync(fixture.Port, EdgeConnect.NewId("monitor"), MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Monitor, EdgeBrokerFixture.MonitorPassword));
        await monitor.SubscribeAsync("$SYS/broker/version", MqttQualityOfServiceLevel.AtMostOnce);
        var version = await monitor.ReceiveAsync("$SYS/broker/version");
        Assert.StartsWith("OrleansMqtt", Encoding.UTF8.GetString(version.Payload));

        // A rule on '#' does not reach '$' topics, as a '#' subscription does not [MQTT-4.7.2-1].
        await using var bob = await BobAsync();
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(bob, "$SYS/#"));
        await using var alice = await AliceAsync(MqttProtocolVersion.V500);
        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, await SubscribeAsync(alice, "$SYS/broker/version"));
    }

    private Task<TestClient> AliceAsync(MqttProtocolVersion version) =>
        TestClient.ConnectAsync(fixture.Port, EdgeConnect.NewId("alice"), version, b => b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword));

    private Task<TestClient> BobAsync() =>
        TestClient.ConnectAsync(fixture.Port, EdgeConnect.NewId("bob"), MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Bob, EdgeBrokerFixture.BobPassword));

    private static async Task<MqttClientSubscribeResultCode> SubscribeAsync(TestClient client, string filter) =>
        (await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter).Build())).Items.Single().ResultCode;
}
