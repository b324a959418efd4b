using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>The filter tree finds exactly the filters a linear scan with <see cref="Topic.Matches"/> would.</summary>
public class TopicFilterTreeTests
{
    private static readonly Gen<string> Filters =
        from levels in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "", "+", "$x"), n))
        from tail in Gen.Elements("", "", "/#", "#")
        let filter = tail == "#" ? "#" : string.Join('/', levels) + tail
        select filter.Length == 0 ? "/" : filter; // A filter is at least one character [MQTT-4.7.3-1].

    private static readonly Gen<string> Topics =
        Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "", "$x"), n)).Select(levels => string.Join('/', levels));

    private static readonly Arbitrary<(string[] Filters, string[] Topics)> Scenarios =
        (from filters in Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Filters, n))
         from topics in Gen.Choose(1, 10).SelectMany(n => Gen.ArrayOf(Topics, n))
         select (filters, topics)).ToArbitrary();

    [Property(MaxTest = 500)]
    public Property Match_agrees_with_a_linear_scan_before_and_after_removals() =>
        Prop.ForAll(Scenarios, scenario =>
        {
            var tree = new TopicFilterTree<int>();
            var entries = scenario.Filters.Select((filter, value) => (Filter: filter, Value: value % 7)).ToList();
            foreach (var (filter, value) in entries)
            {
                tree.Add(filter, value);
            }

            bool agreeBefore = AgreesWithScan(tree, entries, scenario.Topics);

            // Remove every other pair; pruning must not lose the others.
            for (int i = entries.Count - 1; i >= 0; i -= 2)
            {
                Assert.True(tree.Remove(entries[i].Filter, entries[i].Value));
                entries.RemoveAt(i);
            }

            return agreeBefore && AgreesWithScan(tree, entries, scenario.Topics) && tree.Count == entries.Count;
        });

    [Fact]
    public void Several_values_per_filter_are_all_matched()
    {
        var tree = new TopicFilterTree<string>();
        tree.Add("sensors/+/t", "alice");
        tree.Add("sensors/+/t", "bob");
        tree.Add("sensors/#", "carol");
        tree.Add("other", "dave");

        var results = new List<(string Filter, string Value)>();
        tree.Match("sensors/1/t", results);

        Assert.Equal([("sensors/#", "carol"), ("sensors/+/t", "alice"), ("sensors/+/t", "bob")], results.Order());
        Assert.Equal(4, tree.Count);
    }

    [Fact]
    public void Multi_level_wildcard_matches_its_parent_level()
    {
        var tree = new TopicFilterTree<int>();
        tree.Add("sport/#", 1);

        var results = new List<(string, int)>();
        tree.Match("sport", results);

        Assert.Equal([("sport/#", 1)], results);
    }

    [Fact]
    public void Dollar_topics_are_not_matched_by_leading_wildcards()
    {
        var tree = new TopicFilterTree<int>();
        tree.Add("#", 1);
        tree.Add("+/monitor/Clients", 2);
        tree.Add("$SYS/#", 3);
        tree.Add("$SYS/monitor/+", 4);

        var results = new List<(string Filter, int Value)>();
        tree.Match("$SYS/monitor/Clients", results);

        Assert.Equal([3, 4], results.Select(r => r.Value).Order());
    }

    [Fact]
    public void Removing_everything_leaves_an_empty_tree()
    {
        var tree = new TopicFilterTree<int>();
        string[] filters = ["a/b/c", "a/+/c", "a/#", "#", "+", "a//", "/", "a/b/c"];
        for (int i = 0; i < filters.Length; i++)
        {
            tree.Add(filters[i], i);
        }

        Assert.False(tree.Remove("a/b/c", 99));
        Assert.False(tree.Remove("x/y", 0));
        for (int i = 0; i < filters.Length; i++)
        {
            Assert.True(tree.Remove(filters[i], i));
        }

        Assert.Equal(0, tree.Count);
        Assert.Empty(tree.Entries);
        var results = new List<(string, int)>();
        tree.Match("a/b/c", results);
        Assert.Empty(results);
    }

    [Fact]
    public void Entries_lists_every_pair()
    {
        var tree = new TopicFilterTree<int>();
        tree.Add("a/+", 1);
        tree.Add("a/+", 1);
        tree.Add("#", 2);

        Assert.Equal([("#", 2), ("a/+", 1), ("a/+", 1)], tree.Entries.Order());
    }

    [Fact]
    public void Invalid_filter_cannot_be_added() =>
        Assert.Throws<ArgumentException>(() => new TopicFilterTree<int>().Add("a/#/b", 1));

    [Fact]
    public void Hundred_thousand_filters_match_quickly_and_correctly()
    {
        var tree = new TopicFilterTree<int>();
        for (int i = 0; i < 100_000; i++)
        {
            tree.Add($"devices/{i}/+", i);
        }

        tree.Add("devices/#", -1);
        var results = new List<(string Filter, int Value)>();
        for (int i = 0; i < 10_000; i++)
        {
            results.Clear();
            tree.Match($"devices/{i * 7}/status", results);
            Assert.Equal([-1, i * 7], results.Select(r => r.Value).Order());
        }
    }

    private static bool AgreesWithScan(TopicFilterTree<int> tree, List<(string Filter, int Value)> entries, string[] topics)
    {
        var results = new List<(string Filter, int Value)>();
        foreach (string topic in topics)
        {
            results.Clear();
            tree.Match(topic, results);
            var expected = entries.Where(e => Topic.Matches(e.Filter, topic)).Order().ToList();
            if (!expected.SequenceEqual(results.Order()))
            {
                return false;
            }
        }

        return true;
    }
}
