using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Processes;

/// <summary>A silo and standalone gateways as separate processes on 127.0.0.1, started and stopped as an operator would.</summary>
public sealed class SeparateProcessesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Clients_on_two_gateways_exchange_messages_and_a_stopped_gateway_publishes_its_clients_wills()
    {
        var ports = FreePorts.Get(4);
        var cluster = new Dictionary<string, string>
        {
            ["Orleans__ClusterId"] = "proc-" + Guid.NewGuid().ToString("N"),
            ["Orleans__SiloPort"] = ports[0].ToString(),
            ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
            ["Orleans__GatewayPort"] = ports[1].ToString(),
        };
        await using var silo = await BrokerProcess.StartAsync("Silo", new Dictionary<string, string>(cluster) { ["Mqtt__Tcp__Enabled"] = "false" });
        await using var gatewayA = await BrokerProcess.StartAsync("Gateway", new Dictionary<string, string>(cluster) { ["Mqtt__Tcp__Port"] = ports[2].ToString() });
        await using var gatewayB = await BrokerProcess.StartAsync("Gateway", new Dictionary<string, string>(cluster) { ["Mqtt__Tcp__Port"] = ports[3].ToString() });

        var topic = $"proc/{Guid.NewGuid():N}";
        await using var watcher = await TestClient.ConnectAsync(ports[3], "watcher-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await watcher.SubscribeAsync(topic + "/telemetry", MqttQualityOfServiceLevel.AtLeastOnce);
        await watcher.SubscribeAsync(topic + "/will", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var device = await TestClient.ConnectAsync(ports[2], "device-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500,
            o => o.WithWillTopic(topic + "/will").WithWillPayload("offline").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        await device.SubscribeAsync(topic + "/cmd", MqttQualityOfServiceLevel.AtLeastOnce);

        // Traffic both ways between the two gateways.
        for (var i = 0; i < 10; i++)
        {
            await device.PublishAsync(topic + "/telemetry", i.ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(i.ToString(), (await watcher.ReceiveAsync($"telemetry {i} from the other gateway")).Text());
        }

        await watcher.PublishAsync(topic + "/cmd", "reboot", MqttQualityOfServiceLevel.ExactlyOnce);
        Assert.Equal("reboot", (await device.ReceiveAsync("the command from the other gateway")).Text());

        // Ctrl-C (SIGTERM) on gateway A: its v5 client is told the server is shutting down, and its will goes out.
        gatewayA.Terminate();
        var closed = await device.Disconnected.WaitAsync(Patience);
        Assert.Equal(MQTTnet.MqttClientDisconnectReason.ServerShuttingDown, closed.Reason);
        var will = await watcher.ReceiveAsync("the will of the client whose gateway stopped");
        Assert.Equal((topic + "/will", "offline"), (will.Topic, will.Text()));
        Assert.Equal(0, await gatewayA.WaitForExitAsync(Patience));
        AssertCleanLog(gatewayA);

        await watcher.DisposeAsync();
        gatewayB.Terminate();
        Assert.Equal(0, await gatewayB.WaitForExitAsync(Patience));
        silo.Terminate();
        Assert.Equal(0, await silo.WaitForExitAsync(Patience));
        AssertCleanLog(gatewayB);
        AssertCleanLog(silo);
    }

    [Fact]
    public async Task The_embedded_broker_stops_on_SIGTERM_without_errors_after_serving_clients()
    {
        var ports = FreePorts.Get(3);
        await using var broker = await BrokerProcess.StartAsync("Silo", new Dictionary<string, string>
        {
            ["Orleans__ClusterId"] = "proc-" + Guid.NewGuid().ToString("N"),
            ["Orleans__SiloPort"] = ports[0].ToString(),
            ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
            ["Orleans__GatewayPort"] = ports[1].ToString(),
            ["Mqtt__Tcp__Port"] = ports[2].ToString(),
        });

        var client = await TestClient.ConnectAsync(ports[2], "c-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
        await client.SubscribeAsync("stop/test", MqttQualityOfServiceLevel.AtLeastOnce);
        await client.PublishAsync("stop/test", "hello", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("hello", (await client.ReceiveAsync("its own message")).Text());

        broker.Terminate();
        var closed = await client.Disconnected.WaitAsync(Patience);
        Assert.Equal(MQTTnet.MqttClientDisconnectReason.ServerShuttingDown, closed.Reason);
        Assert.Equal(0, await broker.WaitForExitAsync(Patience));
        AssertCleanLog(broker);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_bad_setting_stops_the_broker_at_start_with_a_message_that_names_it()
    {
        await using var broker = ExternalProcess.Start("dotnet", [Path.Combine(BrokerProcess.RepositoryRoot, "Silo", "bin", Configuration, "net10.0", "OrleansMqtt.Silo.dll")],
            new Dictionary<string, string> { ["Mqtt__Tcp__Address"] = "not-an-address", ["Mqtt__Tcp__Port"] = "0" });
        Assert.Equal(1, await broker.WaitForExitAsync(Patience));
        Assert.Contains("Cannot start:", broker.Output);
        Assert.Contains("Mqtt:Tcp:Address 'not-an-address' is not an IP address", broker.Output);
        Assert.DoesNotContain("Unhandled exception", broker.Output);

        // Said once, without a stack trace.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(broker.Output, "is not an IP address"));
        Assert.DoesNotContain("Hosting failed to start", broker.Output);
    }

    [Fact]
    public async Task Started_from_another_directory_the_broker_reads_the_settings_next_to_it()
    {
        // Silo/appsettings.json keeps Orleans' and Polly's Information logs out (a placement alone writes two lines
        // at that level); on defaults alone they would fill the log as soon as a client does anything.
        var ports = FreePorts.Get(3);
        var elsewhere = Directory.CreateTempSubdirectory("mqtt-cwd-");
        try
        {
            await using var broker = ExternalProcess.Start("dotnet", [Path.Combine(BrokerProcess.RepositoryRoot, "Silo", "bin", Configuration, "net10.0", "OrleansMqtt.Silo.dll")],
                new Dictionary<string, string>
                {
                    ["DOTNET_ENVIRONMENT"] = "Production",
                    ["Logging__Console__FormatterName"] = "simple",
                    ["Logging__Console__FormatterOptions__SingleLine"] = "true",
                    ["Orleans__ClusterId"] = "proc-" + Guid.NewGuid().ToString("N"),
                    ["Orleans__SiloPort"] = ports[0].ToString(),
                    ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
                    ["Orleans__GatewayPort"] = ports[1].ToString(),
                    ["Mqtt__Tcp__Port"] = ports[2].ToString(),
                },
                workingDirectory: elsewhere.FullName);
            await broker.WaitForLineAsync(" ready: ", BrokerProcess.StartupPatience);

            var client = await TestClient.ConnectAsync(ports[2], "c-" + Guid.NewGuid().ToString("N"), MqttProtocolVersion.V500);
            await client.SubscribeAsync("cwd/test", MqttQualityOfServiceLevel.AtLeastOnce);
            await client.PublishAsync("cwd/test", "hello", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("hello", (await client.ReceiveAsync("its own message")).Text());
            await client.DisposeAsync();

            broker.Terminate();
            Assert.Equal(0, await broker.WaitForExitAsync(Patience));
            var noise = broker.Output.Split('\n').Where(l => l.StartsWith("info: Orleans.", StringComparison.Ordinal) || l.StartsWith("info: Polly", StringComparison.Ordinal)).ToList();
            Assert.True(noise.Count == 0, $"{noise.Count} Information lines from Orleans or Polly, which appsettings.json turns off:\n{string.Join('\n', noise.Take(5))}");
            Assert.Contains("ready: ", broker.Output);
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    private static string Configuration => AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";

    /// <summary>
    /// No error in the log: nothing at fail or crit level and no unhandled exception. Orleans' own warnings during
    /// shutdown (a reminder that cannot be placed while the last silo leaves) are not errors of ours.
    /// </summary>
    private static void AssertCleanLog(ExternalProcess process)
    {
        var errors = process.Output.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)
            || l.Contains("Unhandled exception", StringComparison.Ordinal) || (l.Contains("Exception", StringComparison.Ordinal) && l.Contains("OrleansMqtt.", StringComparison.Ordinal))).ToList();
        Assert.True(errors.Count == 0, "The log has errors:\n" + string.Join('\n', errors));
    }
}
