using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>Trace on demand: one client's packets in the normal log, with client id and gateway id in scope.</summary>
public sealed class ClientTraceTests
{
    [Fact]
    public async Task A_traced_clients_packets_are_logged_with_its_scope_and_other_clients_are_not()
    {
        await using var broker = await ObservedBroker.StartAsync(new Dictionary<string, string>
        {
            ["Logging__Console__FormatterOptions__IncludeScopes"] = "true",
        });
        var response = await broker.Http.PostAsync(new Uri("/admin/trace/traced-device?minutes=5", UriKind.Relative), null);
        response.EnsureSuccessStatusCode();

        await using var traced = await TestClient.ConnectAsync(broker.MqttPort, "traced-device");
        await using var other = await TestClient.ConnectAsync(broker.MqttPort, "untraced-device");
        await traced.SubscribeAsync("trace/cmd", MqttQualityOfServiceLevel.AtLeastOnce);
        await other.PublishAsync("trace/cmd", "reboot", MqttQualityOfServiceLevel.AtLeastOnce);
        await traced.ReceiveAsync("the command");
        await traced.PublishAsync("trace/telemetry", "42", MqttQualityOfServiceLevel.AtLeastOnce);

        await broker.Process.WaitForLineAsync("Trace traced-device: received Publish", ObservedBroker.Patience);
        var lines = broker.Process.Output.Split('\n');
        Assert.Contains(lines, l => l.Contains("Trace traced-device: connected", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Trace traced-device: received Subscribe", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Trace traced-device: sending PUBLISH on trace/cmd (QoS 1", StringComparison.Ordinal));
        var publish = lines.First(l => l.Contains("Trace traced-device: received Publish", StringComparison.Ordinal));
        Assert.Matches("client traced-device gateway gw-[^ ]+ connection [0-9]+", publish);
        Assert.DoesNotContain(lines, l => l.Contains("Trace untraced-device", StringComparison.Ordinal));
    }
}
