using Microsoft.Extensions.Options;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>A bad bridge rule stops the silo at start with a message that names the setting.</summary>
public sealed class BridgeSettingsTests
{
    [Theory]
    [InlineData("Mqtt:Bridges:Outbound:0:Queue", "Bad_Name", "Mqtt:Bridges:Outbound:0:Queue 'Bad_Name' is not a valid queue name")]
    [InlineData("Mqtt:Bridges:Outbound:0:Queue", "a--b", "is not a valid queue name")]
    [InlineData("Mqtt:Bridges:Outbound:0:Filter", "sensors/#/x", "Mqtt:Bridges:Outbound:0:Filter 'sensors/#/x' is not a valid MQTT topic filter")]
    [InlineData("Mqtt:Bridges:Inbound:0:Queue", "telemetry", "is also an outbound queue")]
    [InlineData("Mqtt:Bridges:Inbound:0:MaxDequeueCount", "0", "Mqtt:Bridges:Inbound:0:MaxDequeueCount must be at least 1")]
    public async Task An_invalid_rule_is_refused_at_start(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Mqtt:Bridges:Outbound:0:Filter"] = "sensors/#",
            ["Mqtt:Bridges:Outbound:0:Queue"] = "telemetry",
            ["Mqtt:Bridges:Inbound:0:Queue"] = "commands",
            [key] = value,
        };
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EmbeddedBroker.StartAsync(settings));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task Rules_without_a_storage_account_are_refused_at_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Bridges:Outbound:0:Filter"] = "sensors/#",
            ["Mqtt:Bridges:Outbound:0:Queue"] = "telemetry",
        }));
        Assert.Contains("Mqtt:Bridges:ConnectionString or Mqtt:Bridges:ServiceUri", error.Message);
    }
}
