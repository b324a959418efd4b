using System.Diagnostics;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

[Collection(ClusterCollection.Name)]
public sealed class SessionExpiryTests(ClusterFixture cluster)
{
    [Fact]
    public async Task A_session_ends_when_its_expiry_interval_has_passed_after_the_client_left()
    {
        var clientId = Names.Unique("dev-");
        var root = Names.Unique("expiring");
        var topic = $"{root}/state";
        var device = await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 2);
        await device.SubscribeAsync(topic);
        await device.SubscribeAsync($"{root}/+");

        var left = Stopwatch.StartNew();
        await device.DisconnectAsync(DisconnectKind.Normal);
        Assert.True((await device.Session.GetInfo()).Exists, "The session ended as soon as the client left, not 2 s later");
        Assert.Equal(2, await cluster.PublishAsync(topic, "kept for the client"));

        await cluster.WaitForSessionAsync(clientId, s => !s.Exists, "expire 2 s after the client left");

        Assert.True(left.Elapsed > TimeSpan.FromSeconds(1.5), $"The session expired after {left.Elapsed.TotalSeconds:F1} s instead of 2 s");
        Assert.Equal(0, await cluster.PublishAsync(topic, "after expiry"));
        var back = await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, cleanStart: false, sessionExpiryInterval: 2);
        Assert.False(back.Result.SessionPresent);
        Assert.Empty(back.Result.Pending.Select(d => d.Describe()));
    }
}
