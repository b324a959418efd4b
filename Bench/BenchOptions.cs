using System.Globalization;
using System.Net;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench;

/// <summary>Command-line settings: <c>--name value</c> pairs after the scenario name; every one has a default.</summary>
public sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public BenchOptions(IEnumerable<string> args)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var key = e.Current;
            if (!key.StartsWith("--", StringComparison.Ordinal) || !e.MoveNext())
            {
                throw new BenchSettingException($"Expected '--name value', got '{key}'.");
            }

            _values[key[2..]] = e.Current;
        }

        var hostText = String("host", "127.0.0.1");
        IPAddress host = IPAddress.TryParse(hostText, out var parsed) ? parsed : throw new BenchSettingException($"--host {hostText} is not an IP address.");
        if (!IPAddress.IsLoopback(host))
        {
            // The load generator only ever targets a broker on this machine.
            throw new BenchSettingException($"--host {host} is not a loopback address.");
        }

        // --ports p1,p2,...: several listeners of one broker (one per gateway process); connection i goes to the
        // (i mod n)-th. --port is the one-listener form.
        var ports = String("ports", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => ParseInt("ports", p)).ToArray();
        if (ports.Length > 0 && _values.ContainsKey("port"))
        {
            throw new BenchSettingException("Give --port or --ports, not both.");
        }

        var port = Int("port", 1883);
        Servers = (ports.Length > 0 ? ports : [port]).Select(p => new IPEndPoint(host, p)).ToArray();
        Server = Servers[0];
        Broker = String("broker", ports.Length > 1 ? $"{host}:{string.Join(",", ports)}" : $"{host}:{Server.Port}");
        Version = Int("mqtt", 4) switch
        {
            4 => MqttProtocolVersion.V311,
            5 => MqttProtocolVersion.V500,
            var v => throw new BenchSettingException($"--mqtt {v}: 4 (3.1.1) or 5"),
        };
        Pids = String("pids", "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => ParseInt("pids", p)).ToArray();
        MaxSeconds = Double("max-seconds", 30);
        RunId = String("run", Guid.NewGuid().ToString("N")[..8]);
    }

    public IPEndPoint Server { get; }

    /// <summary>Every listener given (<c>--ports</c>), or just <see cref="Server"/>.</summary>
    public IReadOnlyList<IPEndPoint> Servers { get; }

    /// <summary>A label for the broker in the output (e.g. mosquitto, embedded, silo+gateway).</summary>
    public string Broker { get; }

    public MqttProtocolVersion Version { get; }

    /// <summary>Processes of the broker whose CPU time (and memory, for idle) is measured.</summary>
    public int[] Pids { get; }

    /// <summary>Hard bound on a scenario's sending phase; draining adds at most a few seconds.</summary>
    public double MaxSeconds { get; }

    /// <summary>Makes topics and client ids unique to this run.</summary>
    public string RunId { get; }

    public string String(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var value) ? value : fallback;
    }

    public int Int(string name, int fallback) => ParseInt(name, String(name, fallback.ToString(CultureInfo.InvariantCulture)));

    public double Double(string name, double fallback) => ParseDouble(name, String(name, fallback.ToString(CultureInfo.InvariantCulture)));

    public bool Bool(string name, bool fallback) => String(name, fallback ? "true" : "false") switch
    {
        "true" => true,
        "false" => false,
        var other => throw new BenchSettingException($"--{name} {other}: true or false"),
    };

    private static int ParseInt(string name, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw new BenchSettingException($"--{name} {text}: not a whole number");

    private static double ParseDouble(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw new BenchSettingException($"--{name} {text}: not a number");

    public QualityOfService Qos(string name = "qos", int fallback = 0) => Int(name, fallback) switch
    {
        >= 0 and <= 2 and var q => (QualityOfService)q,
        var q => throw new BenchSettingException($"--{name} {q}: 0, 1 or 2"),
    };

    /// <summary>Settings given but never read: a typo should not silently run the defaults.</summary>
    public IEnumerable<string> Unused => _values.Keys.Where(k => !_used.Contains(k));
}

/// <summary>A setting that is missing, malformed or contradicts another: reported as one line, not a stack trace.</summary>
public sealed class BenchSettingException(string message) : Exception(message);
