using OrleansMqtt.Gateway;

namespace OrleansMqtt.Tests.Edge;

/// <summary>The ACL's matching of filters against rules, and its file syntax, without a broker.</summary>
public sealed class AclRuleTests
{
    [Theory]
    [InlineData("sensors/#", "sensors/a/b", true)]
    [InlineData("sensors/#", "sensors", true)]
    [InlineData("sensors/+/temp", "sensors/+/temp", true)]
    [InlineData("sensors/+/temp", "sensors/a/temp", true)]
    [InlineData("sensors/+/temp", "sensors/#", false)]
    [InlineData("sensors/a/temp", "sensors/+/temp", false)]
    [InlineData("#", "$SYS/broker", false)]
    [InlineData("$SYS/#", "$SYS/broker/+", true)]
    [InlineData("a/b", "a/b/c", false)]
    public void A_rule_covers_a_filter_when_it_matches_every_topic_the_filter_does(string rule, string filter, bool covers) =>
        Assert.Equal(covers, AclRules.Covers(rule, filter));

    [Theory]
    [InlineData("sensors/secret", "sensors/#", true)]
    [InlineData("sensors/secret", "sensors/+", true)]
    [InlineData("sensors/secret", "sensors/+/temp", false)]
    [InlineData("sensors/#", "sensors", true)]
    [InlineData("a/+/c", "a/b/+", true)]
    [InlineData("#", "$SYS/x", false)]
    public void A_deny_rule_overlaps_a_filter_when_some_topic_matches_both(string rule, string filter, bool overlaps) =>
        Assert.Equal(overlaps, AclRules.Overlaps(rule, filter));

    [Fact]
    public void Topic_lines_before_any_section_are_for_anonymous_clients_and_patterns_for_everyone()
    {
        var rules = AclRules.Parse(["topic read public/#", "pattern write clients/%c/#", "user alice", "topic alice/#"], "test");
        var anonymous = rules.For(ClientIdentity.Anonymous, "c1");
        var alice = rules.For(ClientIdentity.User("alice", "password"), "c2");

        Assert.True(AclRules.MaySubscribe(anonymous, "public/x"));
        Assert.False(AclRules.MaySubscribe(alice, "public/x"));
        Assert.True(AclRules.MayPublish(anonymous, "clients/c1/x"));
        Assert.False(AclRules.MayPublish(anonymous, "clients/c2/x"));
        Assert.True(AclRules.MayPublish(alice, "clients/c2/x"));
        Assert.True(AclRules.MayPublish(alice, "alice/x"));
        Assert.True(AclRules.MaySubscribe(alice, "alice/#"));
    }

    [Fact]
    public void A_name_with_wildcards_or_levels_gets_no_pattern()
    {
        var rules = AclRules.Parse(["pattern readwrite devices/%c/#"], "test");
        Assert.Empty(rules.For(ClientIdentity.Anonymous, "#"));
        Assert.Empty(rules.For(ClientIdentity.Anonymous, "a/b"));
    }

    [Fact]
    public void A_bad_line_names_its_file_and_line()
    {
        var error = Assert.Throws<FormatException>(() => AclRules.Parse(["user alice", "topic read a/#/b"], "acl.conf"));
        Assert.StartsWith("acl.conf:2:", error.Message);
    }

    [Fact]
    public void Anonymous_clients_are_allowed_by_default_only_while_every_listener_is_on_loopback()
    {
        var gateway = new GatewayOptions();
        Assert.True(ConnectAuthenticator.ListenersAreLoopbackOnly(gateway, new TlsOptions(), new WebSocketOptions()));
        gateway.Http.Enabled = true;
        gateway.Http.Address = "0.0.0.0";
        Assert.False(ConnectAuthenticator.ListenersAreLoopbackOnly(gateway, new TlsOptions(), new WebSocketOptions()));
        Assert.True(ConnectAuthenticator.ListenersAreLoopbackOnly(gateway, new TlsOptions(), new WebSocketOptions { Enabled = false }));
        Assert.False(ConnectAuthenticator.ListenersAreLoopbackOnly(new GatewayOptions(), new TlsOptions { Enabled = true, Address = "10.0.0.4" }, new WebSocketOptions()));
    }
}
