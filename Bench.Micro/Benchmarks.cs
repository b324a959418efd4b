using BenchmarkDotNet.Attributes;
using OrleansMqtt.Bench.Micro.HotPath;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Micro;

/// <summary>Every case of <see cref="HotPathCases"/>: codec, topic matching, the gateway's per-message mapping.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private Action _run = () => { };

    public static IEnumerable<string> Cases => HotPathCases.Names;

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _run = HotPathCases.Create(Case);

    [Benchmark]
    public void Run() => _run();
}

/// <summary>
/// Matching one topic against 10^3 to 10^6 subscriptions in one tree (a wildcard-index partition), and adding and
/// removing one: the cost should follow the topic's depth and the matches, not the number of filters.
/// </summary>
[MemoryDiagnoser]
public class TopicFilterTreeBenchmarks
{
    private readonly List<(string Filter, int Value)> _results = [];
    private TopicFilterTree<int> _tree = new();
    private string _topic = "";
    private string _filter = "";

    [Params(1_000, 10_000, 100_000, 1_000_000)]
    public int Subscriptions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tree = HotPathCases.BuildTree(Subscriptions);
        _topic = $"devices/{Subscriptions / 2}/telemetry/cmd";
        _filter = $"devices/{Subscriptions / 2}/+/alarm";
    }

    [Benchmark]
    public int Match()
    {
        _results.Clear();
        _tree.Match(_topic, _results);
        return _results.Count;
    }

    [Benchmark]
    public bool AddRemove()
    {
        _tree.Add(_filter, 1);
        return _tree.Remove(_filter, 1);
    }
}
