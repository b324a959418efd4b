using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// The Silo program run as its own process with the HTTP listener, the admin API and short report and $SYS
/// intervals: a process of its own, because the broker's counters are per process and tests in this one run
/// other brokers at the same time.
/// </summary>
public sealed class ObservedBroker : IAsyncDisposable
{
    public const string Token = "test-admin-token";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private ObservedBroker(ExternalProcess process, int mqttPort, int httpPort)
    {
        Process = process;
        MqttPort = mqttPort;
        HttpPort = httpPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = Patience };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public ExternalProcess Process { get; }

    public int MqttPort { get; }

    public int HttpPort { get; }

    /// <summary>Sends the admin token.</summary>
    public HttpClient Http { get; }

    /// <summary>An embedded broker (silo with gateway), or with <paramref name="program"/> and <paramref name="cluster"/> a silo or gateway of a cluster.</summary>
    public static async Task<ObservedBroker> StartAsync(IDictionary<string, string>? settings = null, string program = "Silo", IDictionary<string, string>? cluster = null)
    {
        // Ports found free can be taken by another test's process before this one binds them: then start again.
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePorts.Get(5);
            var environment = new Dictionary<string, string>(cluster ?? new Dictionary<string, string>
            {
                ["Orleans__ClusterId"] = "observed-" + Guid.NewGuid().ToString("N"),
                ["Orleans__SiloPort"] = ports[2].ToString(),
                ["Orleans__PrimarySiloPort"] = ports[2].ToString(),
                ["Orleans__GatewayPort"] = ports[3].ToString(),
            })
            {
                ["Mqtt__Tcp__Port"] = ports[0].ToString(),
                ["Mqtt__Http__Enabled"] = "true",
                ["Mqtt__Http__Port"] = ports[1].ToString(),
                ["Mqtt__Admin__Token"] = Token,
                ["Mqtt__Sys__Interval"] = "00:00:01",
                ["Mqtt__Telemetry__ReportInterval"] = "00:00:00.500",
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                environment[key] = value;
            }

            var process = await BrokerProcess.StartAsync(program, environment);
            var broker = new ObservedBroker(process, ports[0], ports[1]);
            if (await broker.AnswersAsync())
            {
                return broker;
            }

            await broker.DisposeAsync();
            Assert.True(attempt < 3, $"The broker did not answer on its ports after {attempt} attempts:\n{process.Output}");
        }
    }

    /// <summary>Its HTTP listener answers and it did not fail to bind a port.</summary>
    private async Task<bool> AnswersAsync()
    {
        for (var i = 0; i < 20; i++)
        {
            if (Process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            try
            {
                using var anonymous = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                if ((await anonymous.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/healthz"))).IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(250);
        }

        return false;
    }

    public Task<T?> GetAsync<T>(string path) => Http.GetFromJsonAsync<T>(new Uri(path, UriKind.Relative), Json);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary><c>GET /metrics</c> (no token needed), as series with their labels.</summary>
    public async Task<Scrape> ScrapeAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = Patience };
        return Scrape.Parse(await anonymous.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds; fails saying what was awaited and what was seen.</summary>
    public async Task<Scrape> WaitForMetricsAsync(Func<Scrape, bool> condition, string awaited)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (condition(scrape))
            {
                return scrape;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"/metrics never showed {awaited} within {Patience.TotalSeconds} s. Last scrape:\n{scrape.Broker}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="condition"/> holds.</summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string awaited)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Never {awaited} within {Patience.TotalSeconds} s; last seen: {JsonSerializer.Serialize(value, Json)}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
    }
}

/// <summary>A Prometheus text exposition, parsed: one value per series.</summary>
public sealed class Scrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _series = [];

    public string Text { get; private init; } = "";

    /// <summary>The broker's own series (for failure messages).</summary>
    public string Broker => string.Join('\n', Text.Split('\n').Where(l => l.StartsWith("mqtt_", StringComparison.Ordinal)));

    public static Scrape Parse(string text)
    {
        var scrape = new Scrape { Text = text };
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var value = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            var brace = series.IndexOf('{');
            var labels = new Dictionary<string, string>();
            if (brace >= 0)
            {
                foreach (var pair in series[(brace + 1)..^1].Split("\",", StringSplitOptions.RemoveEmptyEntries))
                {
                    var eq = pair.IndexOf('=');
                    labels[pair[..eq]] = pair[(eq + 2)..].TrimEnd('"');
                }
            }

            scrape._series.Add((brace >= 0 ? series[..brace] : series, labels, value));
        }

        return scrape;
    }

    public bool Has(string name) => _series.Exists(s => s.Name == name);

    /// <summary>The sum of the series named <paramref name="name"/> whose labels include <paramref name="labels"/> (name=value).</summary>
    public double Value(string name, params string[] labels) => _series
        .Where(s => s.Name == name && labels.All(l => l.Split('=') is [var key, var value] && s.Labels.TryGetValue(key, out var v) && v == value))
        .Sum(s => s.Value);
}
