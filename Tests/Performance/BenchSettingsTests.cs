using OrleansMqtt.Bench;

namespace OrleansMqtt.Tests.Performance;

/// <summary>The load generator refuses a bad setting with a message that names it, before it opens any connection.</summary>
public sealed class BenchSettingsTests
{
    [Theory]
    [InlineData("--port 1883 --ports 1884,1885", "Give --port or --ports, not both.")]
    [InlineData("--port eighteen", "--port eighteen: not a whole number")]
    [InlineData("--max-seconds soon", "--max-seconds soon: not a number")]
    [InlineData("--host 10.0.0.1", "--host 10.0.0.1 is not a loopback address.")]
    [InlineData("--host broker", "--host broker is not an IP address.")]
    [InlineData("--mqtt 3", "--mqtt 3: 4 (3.1.1) or 5")]
    [InlineData("--pids 12,x", "--pids x: not a whole number")]
    [InlineData("--port", "Expected '--name value', got '--port'.")]
    public void A_bad_setting_is_refused_with_its_name(string arguments, string message)
    {
        var refused = Assert.Throws<BenchSettingException>(() => new BenchOptions(arguments.Split(' ')));
        Assert.Equal(message, refused.Message);
    }

    [Fact]
    public void A_bad_value_of_a_scenario_setting_is_refused_when_the_scenario_reads_it()
    {
        var options = new BenchOptions(["--qos", "3", "--publishers", "many"]);
        Assert.Equal("--qos 3: 0, 1 or 2", Assert.Throws<BenchSettingException>(() => options.Qos()).Message);
        Assert.Equal("--publishers many: not a whole number", Assert.Throws<BenchSettingException>(() => options.Int("publishers", 8)).Message);
        Assert.Equal(1883, options.Server.Port);
    }
}
