using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>MQTT over TLS on its own listener; client certificates (allowed, not required here) that name the user.</summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class TlsTests(EdgeBrokerFixture fixture)
{
    [Fact]
    public async Task A_client_that_trusts_the_test_CA_exchanges_messages_over_TLS()
    {
        var topic = "sensors/" + Guid.NewGuid().ToString("N") + "/temp";
        await using var subscriber = await TestClient.ConnectAsync(0, EdgeConnect.NewId("tls-sub"), MqttProtocolVersion.V500, b =>
        {
            fixture.OverTls()(b);
            b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword);
        });
        await subscriber.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
        await using var publisher = await TestClient.ConnectAsync(0, EdgeConnect.NewId("tls-pub"), MqttProtocolVersion.V311, b =>
        {
            fixture.OverTls()(b);
            b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword);
        });
        await publisher.PublishAsync(topic, "21.5", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Equal("21.5", (await subscriber.ReceiveAsync("the message sent over TLS")).Text());
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_server_certificate_does_not_connect()
    {
        using var otherCa = TestCertificates.CreateCa("Some Other CA");
        var (code, error) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("tls"), MqttProtocolVersion.V311, b => b
            .WithTcpServer("127.0.0.1", fixture.TlsPort)
            .WithTlsOptions(o => o.UseTls().WithCertificateValidationHandler(e => TestCertificates.ChainsTo(e.Certificate, otherCa))));
        Assert.Null(code);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task A_client_certificate_from_the_CA_names_the_user_the_ACL_sees()
    {
        // The ACL gives user device-7 (and nobody else) certs/#.
        using var certificate = fixture.Certificates.IssueClient("device-7");
        await using var client = await TestClient.ConnectAsync(0, EdgeConnect.NewId("cert"), MqttProtocolVersion.V500, fixture.OverTls(certificate));
        var result = await client.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("certs/#").Build());
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, result.Items.Single().ResultCode);
    }

    [Fact]
    public async Task A_client_certificate_from_an_unknown_CA_is_refused_in_the_handshake()
    {
        using var unknownCa = TestCertificates.CreateCa("Unknown CA");
        using var certificate = TestCertificates.Issue(unknownCa, "device-7", server: false, dnsName: null);
        var (code, error) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("cert"), MqttProtocolVersion.V500, fixture.OverTls(certificate));
        Assert.Null(code);
        Assert.NotNull(error);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_client_must_prove_itself_another_way()
    {
        var (code, _) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("tls"), MqttProtocolVersion.V500, fixture.OverTls());
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, code);
    }
}
