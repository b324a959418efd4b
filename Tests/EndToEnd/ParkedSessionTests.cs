using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.EndToEnd;

/// <summary>
/// Quiet devices stay connected while the broker parks their sessions (Mqtt:Sessions:ParkAfter), and notice
/// nothing: what is published to them arrives, and their will goes out when they drop.
/// </summary>
public sealed class ParkedSessionTests
{
    [Fact]
    public async Task Quiet_devices_keep_their_subscriptions_and_wills_while_their_sessions_are_parked()
    {
        await using var broker = await ObservedBroker.StartAsync(new Dictionary<string, string>
        {
            ["Mqtt__Sessions__ParkAfter"] = "00:00:01",
        });
        await using var device = await TestClient.ConnectAsync(broker.MqttPort, "parked-device", configure: o => o
            .WithWillTopic("fleet/parked-device/status").WithWillPayload("offline").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        await device.SubscribeAsync("fleet/parked-device/cmd", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var backend = await TestClient.ConnectAsync(broker.MqttPort, "backend");
        await backend.SubscribeAsync("fleet/+/status", MqttQualityOfServiceLevel.AtLeastOnce);

        // Parked less resumed is how many are parked now: on a loaded machine a session can park between two of
        // the test's own calls (CONNECT and SUBSCRIBE more than the park age apart), resume, and park again.
        await broker.WaitForMetricsAsync(
            s => s.Value("mqtt_sessions_parked_total") - s.Value("mqtt_sessions_resumed_total") == 2, "both quiet sessions to be parked");
        var parked = await broker.ScrapeAsync();
        Assert.Equal(2, parked.Value("mqtt_sessions", "state=online"));
        var resumedBefore = parked.Value("mqtt_sessions_resumed_total");

        await backend.PublishAsync("fleet/parked-device/cmd", "reboot", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("reboot", (await device.ReceiveAsync("the command to the parked device")).Text());

        device.Drop();
        var will = await backend.ReceiveAsync("the will of the parked device that dropped");
        Assert.Equal(("fleet/parked-device/status", "offline"), (will.Topic, will.Text()));
        await broker.WaitForMetricsAsync(s => s.Value("mqtt_sessions_resumed_total") >= resumedBefore + 2, "both parked sessions to be counted as resumed");
    }
}
