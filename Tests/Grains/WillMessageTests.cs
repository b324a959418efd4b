using System.Diagnostics;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class WillMessageTests(ClusterFixture cluster)
{
    private async Task<(TestConnection Watcher, string WillTopic)> WatchWillTopicAsync()
    {
        var willTopic = Names.Unique("will/");
        var watcher = await TestConnection.ConnectAsync(cluster, Names.Unique("watch-"));
        await watcher.SubscribeAsync(willTopic);
        return (watcher, willTopic);
    }

    private static WillSpec Will(string topic, string payload, uint delaySeconds = 0) => new(Messages.Create(topic, payload), delaySeconds);

    [Theory]
    [InlineData(4, 0u)]
    [InlineData(5, 0u)]
    [InlineData(4, SessionExpiry.Never)]
    [InlineData(5, 60u)]
    public async Task The_will_is_published_when_the_connection_ends_abnormally(byte protocolVersion, uint sessionExpiry)
    {
        var (watcher, willTopic) = await WatchWillTopicAsync();
        var device = await TestConnection.ConnectAsync(
            cluster, Names.Unique("dev-"), protocolVersion, cleanStart: sessionExpiry == 0, sessionExpiry, Will(willTopic, "gone"));

        await device.DisconnectAsync(DisconnectKind.Abnormal);

        var will = await watcher.ReceiveAsync("the will of the connection that ended abnormally");
        Assert.Equal((willTopic, "gone"), (will.Message.Topic, will.Text()));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task A_normal_disconnect_discards_the_will(byte protocolVersion)
    {
        var (watcher, willTopic) = await WatchWillTopicAsync();
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion, will: Will(willTopic, "gone"));

        await device.DisconnectAsync(DisconnectKind.Normal);

        await watcher.ExpectNothingBeforeMarkerAsync("will after a normal DISCONNECT");
    }

    [Fact]
    public async Task A_delayed_will_is_published_only_once_its_delay_has_passed()
    {
        var (watcher, willTopic) = await WatchWillTopicAsync();
        var device = await TestConnection.ConnectAsync(
            cluster, Names.Unique("dev-"), protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 60, Will(willTopic, "gone", delaySeconds: 2));

        var left = Stopwatch.StartNew();
        await device.DisconnectAsync(DisconnectKind.Abnormal);

        var will = await watcher.ReceiveAsync("the will 2 s after the connection ended");
        Assert.Equal("gone", will.Text());
        Assert.True(left.Elapsed > TimeSpan.FromSeconds(1.5), $"The will came {left.Elapsed.TotalSeconds:F1} s after the connection ended, before its 2 s delay");
    }

    [Fact]
    public async Task Reconnecting_within_the_will_delay_cancels_the_will()
    {
        var (watcher, willTopic) = await WatchWillTopicAsync();
        var clientId = Names.Unique("dev-");
        var device = await TestConnection.ConnectAsync(
            cluster, clientId, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 60, Will(willTopic, "device gone", delaySeconds: 2));

        var left = Stopwatch.StartNew();
        await device.DisconnectAsync(DisconnectKind.Abnormal);
        var back = await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 60);
        Assert.True(left.Elapsed < TimeSpan.FromSeconds(1.5), $"The reconnect took {left.Elapsed.TotalSeconds:F1} s, too close to the 2 s will delay for this test to mean anything");
        Assert.True(back.Result.SessionPresent);

        // A control client whose will is due a second after the cancelled one would have been: its will is the marker.
        var control = await TestConnection.ConnectAsync(
            cluster, Names.Unique("control-"), protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 60, Will(willTopic, "control gone", delaySeconds: 3));
        await control.DisconnectAsync(DisconnectKind.Abnormal);

        var first = await watcher.ReceiveAsync("the control client's will, 3 s after it left");
        Assert.True(first.Text() == "control gone", $"The will of the client that came back within its delay was published: {first.Describe()}");
    }
}
