using System.Net;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Infra;

/// <summary>The probes Container Apps runs: /healthz (live) and /readyz (reaches the cluster) on the Mqtt:Http listener.</summary>
public sealed class HealthEndpointTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_silo_process_answers_healthz_and_readyz_with_200_once_it_has_joined()
    {
        var ports = FreePorts.Get(3);
        await using var silo = await BrokerProcess.StartAsync("Silo", new Dictionary<string, string>(Cluster(ports))
        {
            ["Mqtt__Tcp__Enabled"] = "false",
            ["Mqtt__Http__Enabled"] = "true",
            ["Mqtt__Http__Port"] = ports[2].ToString(),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[2]}"), Timeout = Patience };

        var live = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_gateway_stays_live_but_answers_503_on_readyz_when_its_silo_is_gone()
    {
        var ports = FreePorts.Get(4);
        var cluster = Cluster(ports);
        await using var silo = await BrokerProcess.StartAsync("Silo", new Dictionary<string, string>(cluster) { ["Mqtt__Tcp__Enabled"] = "false" });
        await using var gateway = await BrokerProcess.StartAsync("Gateway", new Dictionary<string, string>(cluster)
        {
            ["Mqtt__Tcp__Port"] = ports[2].ToString(),
            ["Mqtt__Http__Enabled"] = "true",
            ["Mqtt__Http__Port"] = ports[3].ToString(),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[3]}"), Timeout = Patience };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        silo.Kill();
        var deadline = DateTime.UtcNow + Patience;
        HttpStatusCode status;
        while ((status = (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode) == HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    private static Dictionary<string, string> Cluster(int[] ports) => new()
    {
        ["Orleans__ClusterId"] = "health-" + Guid.NewGuid().ToString("N"),
        ["Orleans__SiloPort"] = ports[0].ToString(),
        ["Orleans__PrimarySiloPort"] = ports[0].ToString(),
        ["Orleans__GatewayPort"] = ports[1].ToString(),
    };
}
