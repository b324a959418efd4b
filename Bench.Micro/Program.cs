using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using OrleansMqtt.Bench.Micro.HotPath;

// dotnet run -c Release --project Bench.Micro -- --filter '*'                      every benchmark
// dotnet run -c Release --project Bench.Micro -- --filter '*TopicFilterTree*' --job short
// dotnet run -c Release --project Bench.Micro -- --allocations                     bytes per operation of every case,
//   measured as Tests/Performance/AllocationBudgetTests does (to set a budget in allocation-budgets.json)
if (args is ["--allocations"])
{
    foreach (var name in HotPathCases.Names.Order(StringComparer.Ordinal))
    {
        Console.WriteLine($"{name}\t{HotPathCases.BytesPerOperation(HotPathCases.Create(name))}");
    }

    return;
}

// Case names in full: BenchmarkDotNet shortens parameter values past 20 characters by default.
var config = DefaultConfig.Instance.WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(40));
BenchmarkSwitcher.FromAssembly(typeof(OrleansMqtt.Bench.Micro.HotPathBenchmarks).Assembly).Run(args, config);
