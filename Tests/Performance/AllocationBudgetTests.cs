using System.Text.Json;
using OrleansMqtt.Bench.Micro.HotPath;
using Xunit.Abstractions;

namespace OrleansMqtt.Tests.Performance;

/// <summary>
/// Holds every hot-path case (Bench.Micro/HotPath/HotPathCases.cs) to its allocation budget in
/// allocation-budgets.json: bytes allocated per operation, measured with GC.GetAllocatedBytesForCurrentThread after
/// a warm-up. Allocation counts are stable from run to run where times are not, so only allocations are asserted;
/// BenchmarkDotNet (Bench.Micro) gives the times.
/// </summary>
public sealed class AllocationBudgetTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => [.. HotPathCases.Names.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_hot_path_operation_stays_within_its_allocation_budget(string name)
    {
        var budgets = Budgets.Value;
        Assert.True(budgets.TryGetValue(name, out var budget), $"{name} has no budget in allocation-budgets.json: measure it and add one.");

        var allocated = HotPathCases.BytesPerOperation(HotPathCases.Create(name));
        output.WriteLine($"{name}: {allocated} bytes per operation (budget {budget})");
        Assert.True(allocated <= budget, $"{name} allocates {allocated} bytes per operation, over its budget of {budget}. " +
            "Find the new allocation (dotnet run -c Release --project Bench.Micro -- --allocations lists every case; --filter '*HotPath*' times them), " +
            "or, if it is intended, raise the budget in Tests/Performance/allocation-budgets.json and say why in the commit.");
    }

    [Fact]
    public void Every_budget_belongs_to_a_case()
    {
        var unknown = Budgets.Value.Keys.Except(HotPathCases.Names, StringComparer.Ordinal).ToArray();
        Assert.True(unknown.Length == 0, $"Budgets without a case (remove them): {string.Join(", ", unknown)}");
    }

    private static readonly Lazy<Dictionary<string, long>> Budgets = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Performance", "allocation-budgets.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        return document.RootElement.GetProperty("budgets").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal);
    });
}
