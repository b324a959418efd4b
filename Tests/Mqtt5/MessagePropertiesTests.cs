using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Mqtt5;

/// <summary>Request/response, user properties, content type and payload format travel untouched.</summary>
[Collection(ConfiguredBrokerCollection.Name)]
public sealed class MessagePropertiesTests(ConfiguredBrokerFixture fixture)
{
    private readonly int _port = fixture.Broker.Port;

    private Task<TestClient> ConnectAsync(string name, Action<MqttClientOptionsBuilder>? configure = null) =>
        TestClient.ConnectAsync(_port, name + "-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500, configure);

    [Fact]
    public async Task Response_topic_correlation_data_user_properties_and_content_type_are_forwarded_in_order()
    {
        var topic = $"props/{Guid.NewGuid():N}";
        await using var subscriber = await ConnectAsync("sub");
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await ConnectAsync("pub");

        await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload("{\"on\":true}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithResponseTopic(topic + "/reply").WithCorrelationData([1, 2, 3])
            .WithUserProperty("b", "2"u8.ToArray()).WithUserProperty("a", "1"u8.ToArray()).WithUserProperty("b", "3"u8.ToArray())
            .WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .Build());

        var got = await subscriber.ReceiveAsync("the message with its properties");
        Assert.Equal(topic + "/reply", got.ResponseTopic);
        Assert.Equal([1, 2, 3], got.CorrelationData);
        Assert.Equal([("b", "2"), ("a", "1"), ("b", "3")], got.UserProperties.Select(p => (p.Name, Encoding.UTF8.GetString(p.ValueBuffer.Span))));
        Assert.Equal("application/json", got.ContentType);
        Assert.Equal(MqttPayloadFormatIndicator.CharacterData, got.PayloadFormatIndicator);
    }

    [Fact]
    public async Task A_client_that_asks_for_response_information_gets_a_topic_prefix_of_its_own()
    {
        await using var client = await ConnectAsync("req", o => o.WithRequestResponseInformation(true));
        Assert.Equal(ConfiguredBrokerFixture.ResponsePrefix + client.Client.Options.ClientId, client.ConnectResult.ResponseInformation);

        await using var other = await ConnectAsync("plain");
        Assert.Null(other.ConnectResult.ResponseInformation);
    }

    [Fact]
    public async Task A_payload_that_claims_to_be_UTF8_and_is_not_is_refused_with_0x99()
    {
        var topic = $"props/{Guid.NewGuid():N}";
        await using var publisher = await ConnectAsync("pub");
        var result = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(new byte[] { 0xC3, 0x28 }).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData).Build());
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, result.ReasonCode);

        var ok = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes("ünïcode")).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData).Build());
        Assert.True(ok.IsSuccess || ok.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers);
    }
}
