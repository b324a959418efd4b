using MQTTnet.Protocol;
using OrleansMqtt.Gateway;
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

    [Fact]
    public void A_report_that_does_not_yet_name_a_trace_started_here_leaves_it_in_force_until_its_time_is_up()
    {
        var now = DateTime.UtcNow;
        var traces = new ClientTrace();
        traces.Add("started-here", now.AddMinutes(5));

        // The cluster's answer to a report sent before the trace was registered with it.
        traces.Add([("from-cluster", now.AddMinutes(5)), ("over", now.AddSeconds(-1))]);

        Assert.True(traces.Any);
        Assert.True(traces.IsTraced("started-here"));
        Assert.True(traces.IsTraced("from-cluster"));
        Assert.False(traces.IsTraced("over"));
        Assert.Equal(["from-cluster", "started-here"], traces.Current.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Gateways_in_one_process_trace_apart()
    {
        var first = new ClientTrace();
        var second = new ClientTrace();

        first.Add("device", DateTime.UtcNow.AddMinutes(5));

        Assert.True(first.IsTraced("device"));
        Assert.False(second.Any);
        Assert.False(second.IsTraced("device"));
    }
}
