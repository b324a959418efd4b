using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// A quiet connected session is parked when Orleans collects its activation: its state goes to storage, the client
/// stays connected, and whatever calls the session next finds it as it was.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionParkingTests(ClusterFixture cluster)
{
    private static readonly byte PubAck = (byte)PacketType.PubAck;

    [Theory]
    [InlineData(4, 0u)]
    [InlineData(5, 3600u)]
    public async Task A_parked_session_still_delivers_to_its_connection_and_ends_with_it(byte protocolVersion, uint sessionExpiry)
    {
        var topic = Names.Unique("parked/");
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion, cleanStart: true, sessionExpiry);
        await device.SubscribeAsync(topic, qos: 1);

        await ParkAsync(device.ClientId);

        Assert.Equal(1, await cluster.PublishAsync(topic, "while parked"));
        var delivery = await device.ReceiveAsync("the message to the parked session's connection");
        Assert.Equal(("while parked", (byte)1), (delivery.Text(), delivery.Qos));
        var info = await device.Session.GetInfo();
        Assert.Equal((true, true, device.Gateway.GatewayId, 1), (info.Exists, info.Connected, info.GatewayId, info.InFlight));

        await device.Session.Acknowledge(device.ConnectionId, [new ClientAck(PubAck, delivery.PacketId)]);
        Assert.Equal(0, (await device.Session.GetInfo()).InFlight);

        await device.DisconnectAsync(DisconnectKind.Normal);
        info = await device.Session.GetInfo();
        Assert.Equal((sessionExpiry > 0, false), (info.Exists, info.Connected));
    }

    [Fact]
    public async Task A_message_in_flight_when_the_session_parked_is_acknowledged_afterwards_and_the_window_holds()
    {
        var topic = Names.Unique("parked/");
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion: 5, cleanStart: true, sessionExpiryInterval: 0, receiveMaximum: 1);
        await device.SubscribeAsync(topic, qos: 1);
        await cluster.PublishAsync(topic, "first");
        var first = await device.ReceiveAsync("the first message");

        await ParkAsync(device.ClientId);

        // The window of one agreed at CONNECT still holds: the second message waits for the first's PUBACK.
        await cluster.PublishAsync(topic, "second");
        var info = await device.Session.GetInfo();
        Assert.Equal((1, 1), (info.InFlight, info.Queued));

        await device.Session.Acknowledge(device.ConnectionId, [new ClientAck(PubAck, first.PacketId)]);
        var second = await device.ReceiveAsync("the second message once the first was acknowledged");
        Assert.Equal("second", second.Text());
        Assert.NotEqual(first.PacketId, second.PacketId);
    }

    [Fact]
    public async Task A_parked_session_is_taken_over_like_any_other()
    {
        var clientId = Names.Unique("dev-");
        var topic = Names.Unique("parked/");
        var first = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);
        await first.SubscribeAsync(topic);

        await ParkAsync(clientId);
        var second = await TestConnection.ConnectAsync(cluster, clientId, cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);

        Assert.Equal((first.ConnectionId, (byte)0x8E), await first.Gateway.ReceiveCloseAsync("the parked session's connection to be closed on take-over"));
        Assert.True(second.Result.SessionPresent);
        Assert.Equal(1, await cluster.PublishAsync(topic, "to the new connection"));
        Assert.Equal("to the new connection", (await second.ReceiveAsync("the message on the new connection")).Text());
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public async Task The_will_of_a_parked_session_is_published_when_its_connection_ends_abnormally(byte protocolVersion)
    {
        var willTopic = Names.Unique("will/");
        var watcher = await TestConnection.ConnectAsync(cluster, Names.Unique("watch-"));
        await watcher.SubscribeAsync(willTopic);
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion, will: new WillSpec(Messages.Create(willTopic, "gone"), 0));

        await ParkAsync(device.ClientId, watcher.ClientId);
        await device.DisconnectAsync(DisconnectKind.Abnormal);

        Assert.Equal("gone", (await watcher.ReceiveAsync("the will of the parked session")).Text());
        Assert.False((await device.Session.GetInfo()).Exists);
    }

    [Fact]
    public async Task A_taken_over_connections_will_still_waits_for_its_end_across_parking()
    {
        var clientId = Names.Unique("dev-");
        var willTopic = Names.Unique("will/");
        var watcher = await TestConnection.ConnectAsync(cluster, Names.Unique("watch-"));
        await watcher.SubscribeAsync(willTopic);
        var first = await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5, will: new WillSpec(Messages.Create(willTopic, "first gone"), 0));
        await TestConnection.ConnectAsync(cluster, clientId, protocolVersion: 5);
        await first.Gateway.ReceiveCloseAsync("the first connection to be closed on take-over");

        // The old gateway reports the end only after the session parked.
        await ParkAsync(clientId, watcher.ClientId);
        await first.DisconnectAsync(DisconnectKind.Abnormal);

        Assert.Equal("first gone", (await watcher.ReceiveAsync("the taken-over connection's will")).Text());
    }

    [Fact]
    public async Task An_offline_session_collected_while_idle_is_still_offline_when_called_again()
    {
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), protocolVersion: 5, cleanStart: true, sessionExpiryInterval: 3600);
        await device.DisconnectAsync(DisconnectKind.Normal);

        await ParkAsync(device.ClientId);

        // Brought back from storage it is an offline session as before, not a connected one.
        var info = await device.Session.GetInfo();
        Assert.Equal((true, false), (info.Exists, info.Connected));
    }

    [Fact]
    public async Task The_session_directory_still_lists_a_parked_session_as_connected()
    {
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"));
        var directory = cluster.Client.GetGrain<ISessionDirectoryGrain>(SessionDirectory.PartitionOf(device.ClientId));
        await ObservedBroker.WaitForAsync(() => directory.Search(device.ClientId, connected: true, null, 1), e => e.Length == 1, "the directory to list the session");

        // Idle collection takes the directory's partitions too unless they are kept: they live in memory only.
        await ParkAsync(device.ClientId);

        var entry = Assert.Single(await directory.Search(device.ClientId, connected: true, null, 1));
        Assert.Equal((device.ClientId, device.Gateway.GatewayId), (entry.ClientId, entry.GatewayId));
    }

    [Fact]
    public async Task The_gateway_is_told_which_silo_holds_a_clean_session_across_parking()
    {
        var topic = Names.Unique("parked/");
        var device = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"));
        var stored = await TestConnection.ConnectAsync(cluster, Names.Unique("dev-"), cleanStart: false, sessionExpiryInterval: SessionExpiry.Never);
        await device.SubscribeAsync(topic);
        Assert.Equal(await HostOfAsync(device.ClientId), device.Result.Host);
        Assert.Null(stored.Result.Host);

        // Parked, it is in storage and dies with no silo; resumed, it lives on the silo that took the call.
        await ParkAsync(device.ClientId);
        Assert.Equal((device.ConnectionId, (SiloAddress?)null), await device.Gateway.ReceiveMoveAsync("the parked session to say it left its silo"));
        Assert.Equal(1, await cluster.PublishAsync(topic, "wakes it"));
        var (connectionId, host) = await device.Gateway.ReceiveMoveAsync("the resumed session to name its silo");
        Assert.Equal((device.ConnectionId, await HostOfAsync(device.ClientId)), (connectionId, host));
        Assert.NotNull(host);
    }

    private async Task<SiloAddress?> HostOfAsync(string clientId)
    {
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        return statistics.SingleOrDefault(s => s.GrainId == cluster.Session(clientId).GetGrainId())?.SiloAddress;
    }

    /// <summary>
    /// Collects every idle activation in the cluster, as Orleans does for those idle longer than their age, and checks
    /// that the sessions of <paramref name="clientIds"/> have none left.
    /// </summary>
    private async Task ParkAsync(params string[] clientIds)
    {
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        var active = (await management.GetDetailedGrainStatistics()).Select(s => s.GrainId).ToHashSet();
        foreach (var clientId in clientIds)
        {
            Assert.DoesNotContain(cluster.Session(clientId).GetGrainId(), active);
        }
    }
}
