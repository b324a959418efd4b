using System.Globalization;
using System.Text.Json;
using OrleansMqtt.Bench;
using OrleansMqtt.Bench.Scenarios;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Performance;

/// <summary>
/// The load generator's idle scenario against a real broker: with a warm-up, it holds the first connections while
/// the broker settles, reads the broker's memory, then opens the rest and reports each more connection's cost.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class IdleScenarioTests(BrokerFixture fixture)
{
    private readonly string _port = fixture.Broker.Port.ToString(CultureInfo.InvariantCulture);
    private readonly string _pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task With_a_warm_up_it_opens_every_connection_and_reads_the_rest_against_the_warmed_up_footprint()
    {
        var report = await RunAsync("--connections", "30", "--warmup", "10", "--settle-seconds", "0.2", "--concurrency", "4");
        Assert.Equal(30, report.GetProperty("connected").GetInt64());
        Assert.Equal(0, report.GetProperty("failed").GetInt64());
        Assert.Equal(10, report.GetProperty("warmup_connections").GetInt64());
        Assert.True(report.GetProperty("broker_rss_warm_kib").GetInt64() > 0);
        Assert.Equal(JsonValueKind.Number, report.GetProperty("bytes_per_connection_marginal").ValueKind);
        Assert.StartsWith(_pid + ":", report.GetProperty("bytes_per_connection_marginal_by_pid").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_beyond_what_this_process_may_hold_besides_its_warm_up_go_to_a_child_process()
    {
        // 2 warm-up connections held here and 4 more would be 6, over the 5 allowed: the 4 go to a child.
        var report = await RunAsync("--connections", "6", "--warmup", "2", "--per-process", "5", "--settle-seconds", "0.2");
        Assert.Equal(6, report.GetProperty("connected").GetInt64());
        Assert.Equal(0, report.GetProperty("failed").GetInt64());
        Assert.Equal(2, report.GetProperty("client_processes").GetInt64());
    }

    [Fact]
    public async Task Without_a_warm_up_there_is_no_marginal_figure()
    {
        var report = await RunAsync("--connections", "5", "--settle-seconds", "0.2");
        Assert.Equal(5, report.GetProperty("connected").GetInt64());
        Assert.Equal(0, report.GetProperty("warmup_connections").GetInt64());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("bytes_per_connection_marginal").ValueKind);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("-1")]
    public async Task A_warm_up_that_leaves_nothing_to_measure_is_refused_before_connecting(string warmup)
    {
        var refused = await Assert.ThrowsAsync<BenchSettingException>(() => RunAsync("--connections", "10", "--warmup", warmup));
        Assert.Contains($"--warmup {warmup}", refused.Message, StringComparison.Ordinal);
    }

    private async Task<JsonElement> RunAsync(params string[] arguments)
    {
        var options = new BenchOptions(["--port", _port, "--pids", _pid, "--max-seconds", "20", .. arguments]);
        var report = await IdleScenario.RunAsync(options);
        return JsonDocument.Parse(report.ToJson()).RootElement.Clone();
    }
}
