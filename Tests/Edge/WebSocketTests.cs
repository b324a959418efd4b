using System.Net;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>MQTT over WebSocket at /mqtt on the HTTP listener, with the same authentication and ACL as TCP.</summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class WebSocketTests(EdgeBrokerFixture fixture)
{
    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_WebSocket_client_exchanges_messages_with_a_TCP_client(MqttProtocolVersion version)
    {
        var topic = "sensors/" + Guid.NewGuid().ToString("N") + "/ws";
        await using var webSocket = await TestClient.ConnectAsync(0, EdgeConnect.NewId("ws"), version, b => b
            .WithWebSocketServer(o => o.WithUri($"ws://127.0.0.1:{fixture.HttpPort}/mqtt"))
            .WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword));
        await webSocket.SubscribeAsync(topic + "/in", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var tcp = await TestClient.ConnectAsync(fixture.Port, EdgeConnect.NewId("tcp"), version, b => b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword));
        await tcp.SubscribeAsync(topic + "/out", MqttQualityOfServiceLevel.AtLeastOnce);

        await tcp.PublishAsync(topic + "/in", "to the browser", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("to the browser", (await webSocket.ReceiveAsync("a message over WebSocket")).Text());
        await webSocket.PublishAsync(topic + "/out", "from the browser", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("from the browser", (await tcp.ReceiveAsync("a message from the WebSocket client")).Text());
    }

    [Fact]
    public async Task A_WebSocket_client_without_credentials_is_refused_like_a_TCP_one()
    {
        var (code, _) = await EdgeConnect.TryAsync(0, EdgeConnect.NewId("ws"), MqttProtocolVersion.V500, b => b
            .WithWebSocketServer(o => o.WithUri($"ws://127.0.0.1:{fixture.HttpPort}/mqtt")));
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, code);
    }

    [Fact]
    public async Task A_plain_HTTP_request_to_the_endpoint_is_told_to_upgrade()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fixture.HttpPort}") };
        var response = await http.GetAsync(new Uri("/mqtt", UriKind.Relative));
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task The_subprotocol_mqtt_is_required_and_echoed()
    {
        using var refused = new System.Net.WebSockets.ClientWebSocket();
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => refused.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.HttpPort}/mqtt"), CancellationToken.None));

        using var accepted = new System.Net.WebSockets.ClientWebSocket();
        accepted.Options.AddSubProtocol("mqtt");
        await accepted.ConnectAsync(new Uri($"ws://127.0.0.1:{fixture.HttpPort}/mqtt"), CancellationToken.None);
        Assert.Equal("mqtt", accepted.SubProtocol);
    }
}
