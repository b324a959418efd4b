using System.Text.RegularExpressions;
using MQTTnet.Protocol;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>The live dashboard in a real browser (headless chromium) after traffic, with a screenshot kept as an artifact.</summary>
public sealed partial class DashboardTests
{
    /// <summary>Where the screenshot is saved: <c>artifacts/dashboard.png</c> at the root of the repository.</summary>
    public static readonly string ScreenshotPath = Path.Combine(BrokerProcess.RepositoryRoot, "artifacts", "dashboard.png");

    [Fact]
    public async Task The_dashboard_shows_live_clients_messages_topics_and_cluster_members_after_traffic()
    {
        await using var broker = await ObservedBroker.StartAsync();
        var clients = new List<TestClient>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                clients.Add(await TestClient.ConnectAsync(broker.MqttPort, $"dash-device-{i}", configure: o => o.WithCleanSession(false)));
            }

            await clients[0].SubscribeAsync("dash/+/temperature", MqttQualityOfServiceLevel.AtLeastOnce);
            for (var i = 0; i < 20; i++)
            {
                await clients[1].PublishAsync("dash/kitchen/temperature", (20 + i).ToString(), MqttQualityOfServiceLevel.AtLeastOnce);
            }

            for (var i = 0; i < 5; i++)
            {
                await clients[2].PublishAsync("dash/hall/door", "open", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            for (var i = 0; i < 20; i++)
            {
                await clients[0].ReceiveAsync($"temperature {i}");
            }

            // The figures reach the cluster with the gateway's next report.
            await ObservedBroker.WaitForAsync(() => broker.GetAsync<ClusterStats>("/admin/stats"),
                s => s!.ClientsConnected == 3 && s.MessagesReceived == 25 && s.Subscriptions == 1 && s.History.Length >= 2, "three clients and 25 messages in the stats");

            var url = $"http://127.0.0.1:{broker.HttpPort}/dashboard?token={ObservedBroker.Token}";
            var dom = await HeadlessChromium.DumpDomAsync(url, TimeSpan.FromSeconds(5));
            Assert.Equal("3", Figure(dom, "clients-connected"));
            Assert.Equal("25", Figure(dom, "messages-received"));
            Assert.Equal("20", Figure(dom, "messages-sent"));
            Assert.Equal("1", Figure(dom, "subscriptions"));
            Assert.Contains("<td>dash/kitchen/temperature</td>", dom);
            Assert.Contains("<td>dash/hall/door</td>", dom);
            Assert.Contains("<td>Active</td>", dom);
            Assert.Contains("<td>dash-device-2</td>", dom);
            Assert.Contains("<polyline", dom);
            Assert.Matches("<span id=\"status\"[^>]*>updated ", dom);

            await HeadlessChromium.ScreenshotAsync(url, ScreenshotPath, TimeSpan.FromSeconds(5));
            var png = await File.ReadAllBytesAsync(ScreenshotPath);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.True(png.Length > 10_000, $"the screenshot is only {png.Length} bytes");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_dashboard_page_needs_the_token()
    {
        await using var broker = await ObservedBroker.StartAsync();
        using var anonymous = new HttpClient();
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri($"http://127.0.0.1:{broker.HttpPort}/dashboard"))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri($"http://127.0.0.1:{broker.HttpPort}/dashboard?token=wrong"))).StatusCode);
        var page = await anonymous.GetAsync(new Uri($"http://127.0.0.1:{broker.HttpPort}/dashboard?token={ObservedBroker.Token}"));
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
    }

    private static string Figure(string dom, string id) =>
        FigurePattern().Matches(dom).FirstOrDefault(m => m.Groups[1].Value == id)?.Groups[2].Value
        ?? throw new Xunit.Sdk.XunitException($"no figure '{id}' in the dashboard's DOM:\n{dom}");

    [GeneratedRegex("<b id=\"([a-z-]+)\">([^<]*)</b>")]
    private static partial Regex FigurePattern();
}
