using OrleansMqtt.Bench;
using OrleansMqtt.Bench.Scenarios;

// OrleansMqtt.Bench <scenario> [--name value]...: drives an MQTT broker at --host/--port (loopback only) and prints
// one JSON line with the scenario's figures. See docs/benchmarks.md for the scenarios and their settings.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("""
        usage: OrleansMqtt.Bench <scenario> [--name value]...
          scenarios: fanin | fanout | pairs | persistent | backlog | latency | storm | idle
          common:    --host 127.0.0.1 --port 1883 | --ports <p1,p2,...> --broker <label> --mqtt 4|5 --pids <pid,pid> --max-seconds 30
                     (--ports: the listeners of one broker, e.g. one per gateway; connection i goes to the (i mod n)-th)
          fanin:     --publishers 8 --qos 0 --messages <per publisher> --payload 64 --window 1000 --inflight 100
          fanout:    --subscribers 50 --qos 0 --messages 4000
          pairs:     --pairs 50 --qos 0 --messages 4000
          persistent: fan-in with clean session 0 everywhere; --qos 1 by default
          backlog:   --messages 1000 --payload 16000 --qos 1 --inflight 20: to an offline persistent session, which then takes them
          latency:   --rate 1000 --seconds 10 --qos 0 --samples <file: each message's latency in ms>
          storm:     --connections 5000 --concurrency 64 --sources 4 [--subscribe 'fleet/{i}/cmd/#']
          idle:      --connections 10000 --sources <n> --settle-seconds 5 --quiet-seconds 0 --hold-seconds 0 --warmup 0 --concurrency 64 --pids <broker pids>
                     --per-process <open-files limit - 500>: more connections than that are held by child processes
        """);
    return 2;
}

BenchOptions options;
Report report;
try
{
    options = new BenchOptions(args.Skip(1));
    if (args[0] == "idle-hold")
    {
        // A child of the idle scenario: holds its share of the connections until its standard input is closed.
        await IdleScenario.HoldAsync(options);
        return options.Unused.Any() ? 2 : 0;
    }

    report = args[0] switch
    {
        "fanin" => await ThroughputScenario.RunAsync("fanin", ThroughputScenario.Topology.FanIn, persistent: false, options),
        "fanout" => await ThroughputScenario.RunAsync("fanout", ThroughputScenario.Topology.FanOut, persistent: false, options),
        "pairs" => await ThroughputScenario.RunAsync("pairs", ThroughputScenario.Topology.Pairs, persistent: false, options),
        "persistent" => await ThroughputScenario.RunAsync("persistent", ThroughputScenario.Topology.FanIn, persistent: true, options),
        "backlog" => await BacklogScenario.RunAsync(options),
        "latency" => await LatencyScenario.RunAsync(options),
        "storm" => await ConnectionScenarios.StormAsync(options),
        "idle" => await IdleScenario.RunAsync(options),
        var other => throw new BenchSettingException($"unknown scenario '{other}'"),
    };
}
catch (BenchSettingException ex)
{
    Console.Error.WriteLine($"OrleansMqtt.Bench: {ex.Message} (--help lists the scenarios and settings)");
    return 2;
}

if (options.Unused.Any())
{
    Console.Error.WriteLine($"Unknown settings: {string.Join(", ", options.Unused)}");
    return 2;
}

// The machine may be shared: the load average at the end says how much else was running.
report.Add("load_avg_1m", double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
Console.WriteLine(report.ToJson());
return 0;
