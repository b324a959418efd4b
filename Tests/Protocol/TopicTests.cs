using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>Topic names, filters and matching behave as the examples of 4.7 and 4.8 say.</summary>
public class TopicTests
{
    [Theory]
    [InlineData("sport/tennis/player1")]
    [InlineData("a")]
    [InlineData("/")]
    [InlineData("/finance")]
    [InlineData("a//b")]
    [InlineData("$SYS/monitor/Clients")]
    [InlineData("Accounts payable")]
    [InlineData("ünïcödé/𝄞")]
    public void Valid_topic_names(string topic) => Assert.True(Topic.IsValidName(topic));

    [Theory]
    [InlineData("")]
    [InlineData("sport/+")]
    [InlineData("#")]
    [InlineData("sport/#")]
    [InlineData("a+b")]
    [InlineData("a#b")]
    [InlineData("a\0b")]
    public void Invalid_topic_names(string topic) => Assert.False(Topic.IsValidName(topic));

    [Fact]
    public void Topic_name_with_an_unpaired_surrogate_is_invalid()
    {
        // Built at run time: xunit would replace the lone surrogate of an InlineData string.
        Assert.False(Topic.IsValidName("lone" + (char)0xD800 + "surrogate"));
        Assert.False(Topic.IsValidFilter("lone/" + (char)0xDC00));
    }

    [Fact]
    public void Topic_name_is_at_most_65535_utf8_bytes()
    {
        Assert.True(Topic.IsValidName(new string('a', 65_535)));
        Assert.False(Topic.IsValidName(new string('a', 65_536)));
        Assert.False(Topic.IsValidName(new string('é', 32_768))); // 65,536 bytes in UTF-8
    }

    [Theory]
    [InlineData("sport/tennis/player1/#")] // 4.7.1.2
    [InlineData("sport/#")]
    [InlineData("#")]
    [InlineData("sport/tennis/#")]
    [InlineData("+")] // 4.7.1.3
    [InlineData("+/tennis/#")]
    [InlineData("sport/+/player1")]
    [InlineData("/+")]
    [InlineData("+/+")]
    [InlineData("$SYS/#")] // 4.7.2
    [InlineData("a//b")]
    [InlineData("/")]
    [InlineData("$share")] // a plain filter: no '/' after it
    [InlineData("$shared/a")]
    [InlineData("$share/consumers/sport/tennis/+")] // 4.8.2
    [InlineData("$share/g/#")]
    [InlineData("$share/g//")]
    public void Valid_topic_filters(string filter) => Assert.True(Topic.IsValidFilter(filter));

    [Theory]
    [InlineData("")]
    [InlineData("sport/tennis#")] // 4.7.1.2
    [InlineData("sport/tennis/#/ranking")]
    [InlineData("#/a")]
    [InlineData("a/#/")]
    [InlineData("sport+")] // 4.7.1.3
    [InlineData("+a")]
    [InlineData("a/+b")]
    [InlineData("a\0")]
    [InlineData("$share/")] // 4.8.2
    [InlineData("$share//a")]
    [InlineData("$share/g")]
    [InlineData("$share/g/")]
    [InlineData("$share/g+/a")]
    [InlineData("$share/#/a")]
    [InlineData("$share/g/a#")]
    public void Invalid_topic_filters(string filter) => Assert.False(Topic.IsValidFilter(filter));

    [Theory]
    // 4.7.1.2: '#' matches the parent and any number of children.
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/ranking", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true)]
    [InlineData("sport/#", "sport", true)]
    [InlineData("#", "sport/tennis", true)]
    [InlineData("#", "/", true)]
    [InlineData("a/#", "a/", true)]
    [InlineData("a/#", "ab", false)]
    // 4.7.1.3: '+' matches exactly one level, empty ones included.
    [InlineData("sport/tennis/+", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/+", "sport/tennis/player2", true)]
    [InlineData("sport/tennis/+", "sport/tennis/player1/ranking", false)]
    [InlineData("sport/+", "sport", false)]
    [InlineData("sport/+", "sport/", true)]
    [InlineData("+/+", "/finance", true)]
    [InlineData("/+", "/finance", true)]
    [InlineData("+", "/finance", false)]
    [InlineData("a/+/c", "a//c", true)]
    [InlineData("+/b", "a/b/c", false)]
    // 4.7.2: topics beginning with '$' are not matched by a leading wildcard.
    [InlineData("#", "$SYS/monitor/Clients", false)]
    [InlineData("+/monitor/Clients", "$SYS/monitor/Clients", false)]
    [InlineData("$SYS/#", "$SYS/monitor/Clients", true)]
    [InlineData("$SYS/monitor/+", "$SYS/monitor/Clients", true)]
    [InlineData("+", "$SYS", false)]
    [InlineData("a/+", "a/$b", true)]
    // 4.7.3: exact, case-sensitive comparison.
    [InlineData("ACCOUNTS", "Accounts", false)]
    [InlineData("Accounts payable", "Accounts payable", true)]
    [InlineData("a/b", "a/b/c", false)]
    [InlineData("a/b/c", "a/b", false)]
    [InlineData("a/b/", "a/b", false)]
    public void Filter_matches_topic_as_the_spec_examples_say(string filter, string topic, bool matches) =>
        Assert.Equal(matches, Topic.Matches(filter, topic));

    [Theory]
    [InlineData("a/+", true)]
    [InlineData("#", true)]
    [InlineData("a/b", false)]
    [InlineData("$share/g/a", false)]
    public void Wildcards_are_detected(string filter, bool hasWildcard) => Assert.Equal(hasWildcard, Topic.HasWildcard(filter));

    [Theory]
    [InlineData("sensors/+/t", "sensors")]
    [InlineData("sensors", "sensors")]
    [InlineData("+/a", Topic.RootPartition)]
    [InlineData("+", Topic.RootPartition)]
    [InlineData("#", Topic.RootPartition)]
    [InlineData("/a", "")]
    [InlineData("$SYS/broker", "$SYS")]
    public void Partition_key_is_the_first_level(string filterOrTopic, string key) => Assert.Equal(key, Topic.PartitionKey(filterOrTopic));

    [Theory]
    [InlineData("$share/consumers/sport/tennis/+", "consumers", "sport/tennis/+")]
    [InlineData("$share/g//", "g", "/")]
    [InlineData("$share/g/#", "g", "#")]
    public void Shared_subscription_splits_into_group_and_filter(string filter, string group, string inner)
    {
        Assert.True(Topic.IsShared(filter, out string actualGroup, out string actualInner));
        Assert.Equal(group, actualGroup);
        Assert.Equal(inner, actualInner);
    }

    [Theory]
    [InlineData("sport/#")]
    [InlineData("$share")]
    [InlineData("$share/")]
    [InlineData("$share//a")]
    [InlineData("$sharex/g/a")]
    public void Non_shared_filter_is_returned_whole(string filter)
    {
        Assert.False(Topic.IsShared(filter, out string group, out string inner));
        Assert.Equal("", group);
        Assert.Equal(filter, inner);
    }
}
