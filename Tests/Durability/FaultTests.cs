using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// Faults with separate processes (two silos, two gateways, Azure Table storage on Azurite): silos and gateways killed
/// with SIGKILL mid-traffic, the whole cluster restarted. Nothing acknowledged is lost, wills arrive, sessions resume.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultTests(FaultCluster cluster, ITestOutputHelper output)
{
    private const int StreamLength = 100;
    private const int KillAfter = 30;
    private static readonly TimeSpan DeliveryPatience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(QualityOfService.AtLeastOnce)]
    [InlineData(QualityOfService.ExactlyOnce)]
    public async Task A_silo_killed_mid_stream_loses_no_acknowledged_message(QualityOfService qos)
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var ports = cluster.MqttPorts;

        // Several subscribers and topics, so that sessions and topic grains live on both silos whichever is killed.
        var subscribers = new List<ResilientClient>();
        for (var i = 0; i < 4; i++)
        {
            subscribers.Add(await ResilientClient.StartAsync($"sub-{id}-{i}", [ports[i % 2], ports[(i + 1) % 2]], $"kill/{id}/#", qos));
        }

        var publishers = new[]
        {
            await ResilientClient.StartAsync($"pub-{id}-0", [ports[0], ports[1]]),
            await ResilientClient.StartAsync($"pub-{id}-1", [ports[1], ports[0]]),
        };

        // The silo to kill is the one that hosts more of this test's sessions (each silo logs the sessions it hosts).
        var hosted = new[] { cluster.SiloLinesWith(0, $"-{id}-"), cluster.SiloLinesWith(1, $"-{id}-") };
        var victim = hosted[1] >= hosted[0] ? 1 : 0;
        Assert.True(hosted[victim] > 0, "no silo logged hosting this test's sessions");
        output.WriteLine($"session log lines per silo: {hosted[0]}, {hosted[1]}; killing silo {victim}");

        var acknowledged = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        var streams = publishers.Select(async (publisher, p) =>
        {
            for (var n = 0; n < StreamLength; n++)
            {
                var payload = $"{p}-{n}";
                await publisher.PublishAsync($"kill/{id}/topic{p}", payload, qos);
                lock (acknowledged)
                {
                    acknowledged.Add(payload);
                    if (acknowledged.Count == KillAfter)
                    {
                        cluster.KillSilo(victim);
                        output.WriteLine($"silo {victim} killed after {KillAfter} acknowledged messages ({stopwatch.ElapsedMilliseconds} ms)");
                    }
                }
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(streams);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + cluster.Logs(), ex);
        }
        output.WriteLine($"{acknowledged.Count} messages acknowledged in {stopwatch.ElapsedMilliseconds} ms; publisher reconnects: {string.Join(", ", publishers.Select(p => p.Reconnects))}");

        try
        {
            foreach (var subscriber in subscribers)
            {
                await subscriber.WaitForAllAsync(acknowledged, DeliveryPatience);
            }
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + cluster.Logs(), ex);
        }

        foreach (var (subscriber, i) in subscribers.Select((s, i) => (s, i)))
        {
            var received = subscriber.Received.ToList();
            var duplicates = received.Count - received.Distinct().Count();
            output.WriteLine($"subscriber {i}: {received.Count} received, {duplicates} duplicates, {subscriber.Reconnects} reconnects");
            output.WriteLine($"  {string.Join("; ", subscriber.Events)}");
            Assert.Equal(0, subscriber.SessionsLost);
            if (qos == QualityOfService.ExactlyOnce)
            {
                Assert.True(duplicates == 0, $"subscriber {i} got {duplicates} duplicates at QoS 2: {string.Join(", ", received.GroupBy(r => r).Where(g => g.Count() > 1).Select(g => g.Key))}");
            }

            // Per publisher, messages arrive in order, a resent run aside.
            foreach (var p in new[] { "0-", "1-" })
            {
                var numbers = received.Where(r => r.StartsWith(p, StringComparison.Ordinal)).Select(r => int.Parse(r[2..])).Distinct().ToList();
                Assert.Equal(Enumerable.Range(0, StreamLength), numbers.Order());
            }
        }

        foreach (var client in subscribers.Concat(publishers))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_killed_gateway_s_wills_arrive_at_the_other_gateway_within_the_lease()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        const int keepAlive = 2;
        await using var watcher = await TestClient.ConnectAsync(cluster.MqttPorts[1], $"watcher-{id}", MQTTnet.Formatter.MqttProtocolVersion.V500);
        await watcher.SubscribeAsync($"will/{id}/#", MqttQualityOfServiceLevel.AtLeastOnce);

        var devices = new List<TestClient>();
        for (var i = 0; i < 6; i++)
        {
            var version = i % 2 == 0 ? MQTTnet.Formatter.MqttProtocolVersion.V311 : MQTTnet.Formatter.MqttProtocolVersion.V500;
            var persistent = i % 3 == 0;
            devices.Add(await TestClient.ConnectAsync(cluster.MqttPorts[0], $"device-{id}-{i}", version, o =>
            {
                o.WithKeepAlivePeriod(TimeSpan.FromSeconds(keepAlive))
                    .WithWillTopic($"will/{id}/{i}").WithWillPayload("offline").WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
                if (persistent)
                {
                    o.WithCleanSession(false).WithSessionExpiryInterval(600);
                }
            }));
        }

        var stopwatch = Stopwatch.StartNew();
        cluster.KillGateway(0);
        var wills = new HashSet<string>();
        try
        {
            while (wills.Count < devices.Count)
            {
                wills.Add((await watcher.ReceiveAsync($"the wills of {devices.Count} clients of the killed gateway")).Topic);
            }
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; got {wills.Count}\n{cluster.Logs()}", ex);
        }

        var elapsed = stopwatch.Elapsed;
        var bound = TimeSpan.FromSeconds(1.5 * keepAlive) + FaultCluster.LeaseDuration;
        output.WriteLine($"all {wills.Count} wills arrived {elapsed.TotalMilliseconds:F0} ms after the gateway was killed (bound {bound.TotalMilliseconds} ms)");
        Assert.True(elapsed <= bound, $"the wills took {elapsed.TotalMilliseconds:F0} ms, more than 1.5 × keep-alive + lease = {bound.TotalMilliseconds} ms");
        foreach (var device in devices)
        {
            device.Drop();
        }
    }

    [Fact]
    public async Task Clients_whose_clean_sessions_died_with_their_silo_are_disconnected_their_wills_published_and_receive_again_once_back()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var topic = $"clean/{id}";
        var v5 = MQTTnet.Formatter.MqttProtocolVersion.V500;
        var clients = new List<(string ClientId, int Port, TestClient Client)>();
        for (var i = 0; i < 8; i++)
        {
            var clientId = $"clean-{id}-{i}";
            var port = cluster.MqttPorts[i % 2];
            var client = await TestClient.ConnectAsync(port, clientId, v5, o => WithRetainedWill(o.WithCleanStart(true), id, clientId));
            await client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            clients.Add((clientId, port, client));
        }

        // Each silo logs the sessions it hosts; the one holding more of them is killed.
        var onSilo = Enumerable.Range(0, 2).Select(s => clients.Where(c => cluster.SiloLinesWith(s, $"Session {c.ClientId} connected") > 0).ToList()).ToArray();
        var victim = onSilo[1].Count >= onSilo[0].Count ? 1 : 0;
        var lost = onSilo[victim];
        var others = clients.Except(lost).ToList();
        Assert.True(lost.Count > 0 && lost.Count + others.Count == clients.Count, $"sessions per silo: {onSilo[0].Count}, {onSilo[1].Count}");
        var stopwatch = Stopwatch.StartNew();
        cluster.KillSilo(victim);
        output.WriteLine($"silo {victim} killed with {lost.Count} of the {clients.Count} sessions");

        // Their clients are told, instead of keeping a connection that no session stands behind.
        try
        {
            foreach (var (clientId, _, client) in lost)
            {
                var closed = await client.Disconnected.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.True(closed.Reason == MqttClientDisconnectReason.ServerBusy, $"{clientId} was closed with {closed.Reason}");
            }
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{cluster.Logs()}", ex);
        }

        output.WriteLine($"{lost.Count} clients disconnected {stopwatch.ElapsedMilliseconds} ms after the kill");

        // Every other client is served still, or told too: a session on the surviving silo whose entry in Orleans'
        // grain directory was kept by the dead silo loses its activation as well.
        await using (var publisher = await TestClient.ConnectAsync(cluster.MqttPorts[0], $"pub-{id}", v5))
        {
            await publisher.PublishAsync(topic, "after the silo died", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        foreach (var (clientId, _, client) in others)
        {
            var message = await client.ReceiveUnlessDisconnectedAsync($"the message to {clientId}, or a disconnect");
            if (message is null)
            {
                var closed = await client.Disconnected;
                Assert.True(closed.Reason == MqttClientDisconnectReason.ServerBusy, $"{clientId} was closed with {closed.Reason}");
                output.WriteLine($"{clientId}, on the surviving silo, lost its activation and was told");
            }
            else
            {
                Assert.Equal("after the silo died", message.Text());
            }
        }

        // The server ended those connections without the clients' DISCONNECT, so their wills are published, though
        // their sessions are gone [MQTT-3.1.2-8]; the clients still connected publish none.
        await ExpectWillsOfClosedClientsAsync(id, clients.Select(c => (c.ClientId, c.Client)).ToList());

        // Back with new sessions and subscriptions, the clients that were told receive again, like the others.
        var connected = new List<TestClient>();
        foreach (var (clientId, port, client) in clients)
        {
            if (!client.Disconnected.IsCompleted)
            {
                connected.Add(client);
                continue;
            }

            await client.DisposeAsync();
            var again = await TestClient.ConnectAsync(port, clientId, v5, o => o.WithCleanStart(true));
            await again.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            connected.Add(again);
        }

        await using (var publisher = await TestClient.ConnectAsync(cluster.MqttPorts[1], $"pub-{id}", v5))
        {
            var published = await publisher.PublishAsync(topic, "once back", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.True(published.IsSuccess, $"PUBACK {published.ReasonCode}");
        }

        foreach (var client in connected)
        {
            // At least once: the message before may come again, if the gateway had to retry it.
            string text;
            while ((text = (await client.ReceiveAsync("the message published once all were back")).Text()) == "after the silo died")
            {
            }

            Assert.Equal("once back", text);
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_that_reconnects_through_the_other_gateway_takes_its_session_over()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"roamer-{id}";
        var topic = $"takeover/{id}";
        await using var first = await TestClient.ConnectAsync(cluster.MqttPorts[0], clientId, MQTTnet.Formatter.MqttProtocolVersion.V500, o => o.WithCleanStart(true).WithSessionExpiryInterval(600));
        await first.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);

        await using var second = await TestClient.ConnectAsync(cluster.MqttPorts[1], clientId, MQTTnet.Formatter.MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(600));
        Assert.True(second.ConnectResult.IsSessionPresent, "the session did not move to the other gateway");
        var closed = await first.Disconnected.WaitAsync(TestClient.Patience);
        Assert.Equal(MqttClientDisconnectReason.SessionTakenOver, closed.Reason);

        // The subscription came along: a message published through the first gateway reaches the second connection.
        await using var publisher = await TestClient.ConnectAsync(cluster.MqttPorts[0], $"pub-{id}", MQTTnet.Formatter.MqttProtocolVersion.V500);
        await publisher.PublishAsync(topic, "after take-over", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal("after take-over", (await second.ReceiveAsync("the message on the taken-over session")).Text());
    }

    [Fact]
    public async Task After_a_whole_cluster_restart_sessions_queued_and_retained_messages_are_all_there()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"sleeper-{id}";
        await using (var sleeper = await TestClient.ConnectAsync(cluster.MqttPorts[0], clientId, MQTTnet.Formatter.MqttProtocolVersion.V311, o => o.WithCleanSession(false)))
        {
            await sleeper.SubscribeAsync($"restart/{id}/queue/#", MqttQualityOfServiceLevel.AtLeastOnce);
            await sleeper.SubscribeAsync($"restart/{id}/exact", MqttQualityOfServiceLevel.ExactlyOnce);
            await sleeper.DisconnectAsync();
        }

        await using (var publisher = await TestClient.ConnectAsync(cluster.MqttPorts[1], $"pub-{id}", MQTTnet.Formatter.MqttProtocolVersion.V500))
        {
            for (var i = 0; i < 5; i++)
            {
                await publisher.PublishAsync($"restart/{id}/queue/{i}", $"queued {i}", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            await publisher.PublishAsync($"restart/{id}/exact", "exactly once", MqttQualityOfServiceLevel.ExactlyOnce);
            await publisher.PublishAsync($"restart/{id}/state", "retained", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        }

        await Task.WhenAll(cluster.StopSiloAsync(0), cluster.StopSiloAsync(1));
        await Task.WhenAll(cluster.StartSiloAsync(0), cluster.StartSiloAsync(1));

        // The gateways stayed up and find the restarted silos by themselves.
        var sleeperAgain = await ConnectWhenReadyAsync(cluster.MqttPorts[0], clientId, o => o.WithCleanSession(false));
        await using (sleeperAgain)
        {
            Assert.True(sleeperAgain.ConnectResult.IsSessionPresent, "the persistent session did not survive the restart\n" + cluster.Logs());
            var received = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                received.Add((await sleeperAgain.ReceiveAsync("the messages queued before the restart")).Text());
            }

            Assert.Equal(["queued 0", "queued 1", "queued 2", "queued 3", "queued 4"], received.Where(r => r.StartsWith("queued", StringComparison.Ordinal)));
            Assert.Contains("exactly once", received);

            await using var late = await ConnectWhenReadyAsync(cluster.MqttPorts[1], $"late-{id}", null);
            await late.SubscribeAsync($"restart/{id}/+", MqttQualityOfServiceLevel.AtLeastOnce);
            var retained = await late.ReceiveAsync("the retained message stored before the restart");
            Assert.Equal(($"restart/{id}/state", "retained"), (retained.Topic, retained.Text()));

            // The subscription index survived as well.
            await late.PublishAsync($"restart/{id}/queue/new", "after the restart", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("after the restart", (await sleeperAgain.ReceiveAsync("a message published after the restart")).Text());
        }
    }

    [Fact]
    public async Task Persistent_sessions_whose_silo_died_close_their_connections_and_publish_their_wills()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var topic = $"persistent/{id}";
        var clients = new List<(string ClientId, TestClient Client)>();
        for (var i = 0; i < 8; i++)
        {
            // Half v3.1.1, half v5 with no will delay: the will goes out as soon as the connection has ended.
            var clientId = $"kept-{id}-{i}";
            var client = i % 2 == 0
                ? await TestClient.ConnectAsync(cluster.MqttPorts[i % 2], clientId, MQTTnet.Formatter.MqttProtocolVersion.V311, o => WithRetainedWill(o.WithCleanSession(false), id, clientId))
                : await TestClient.ConnectAsync(cluster.MqttPorts[i % 2], clientId, MQTTnet.Formatter.MqttProtocolVersion.V500, o => WithRetainedWill(o.WithCleanStart(false).WithSessionExpiryInterval(600), id, clientId));
            await client.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            clients.Add((clientId, client));
        }

        var onSilo = Enumerable.Range(0, 2).Select(s => clients.Count(c => cluster.SiloLinesWith(s, $"Session {c.ClientId} connected") > 0)).ToArray();
        var victim = onSilo[1] >= onSilo[0] ? 1 : 0;
        Assert.True(onSilo[victim] > 0, $"sessions per silo: {onSilo[0]}, {onSilo[1]}");
        cluster.KillSilo(victim);
        output.WriteLine($"silo {victim} killed with {onSilo[victim]} of the {clients.Count} sessions");

        // A message for them activates their sessions again, from storage, on the surviving silo: each closes the
        // connection it finds there (what was on its way to the client is unknown), and the client reconnects.
        await using (var publisher = await ConnectWhenReadyAsync(cluster.MqttPorts[1 - victim], $"pub-{id}", null))
        {
            await publisher.PublishAsync(topic, "after the silo died", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var closed = 0;
        foreach (var (clientId, client) in clients)
        {
            var message = await client.ReceiveUnlessDisconnectedAsync($"the message to {clientId}, or a disconnect");
            if (message is null)
            {
                closed++;
            }
        }

        output.WriteLine($"{closed} of {clients.Count} connections closed by their sessions");
        Assert.True(closed > 0, "no session closed the connection it was restored with\n" + cluster.Logs());
        await ExpectWillsOfClosedClientsAsync(id, clients);
        foreach (var (_, client) in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_silo_that_stops_closes_the_connections_of_its_clean_sessions_and_publishes_their_wills()
    {
        await cluster.EnsureRunningAsync();
        var id = Guid.NewGuid().ToString("N")[..8];
        var clients = new List<(string ClientId, TestClient Client)>();
        for (var i = 0; i < 8; i++)
        {
            var clientId = $"stop-{id}-{i}";
            var client = await TestClient.ConnectAsync(cluster.MqttPorts[i % 2], clientId, MQTTnet.Formatter.MqttProtocolVersion.V500, o => WithRetainedWill(o.WithCleanStart(true), id, clientId));
            clients.Add((clientId, client));
        }

        var onSilo = Enumerable.Range(0, 2).Select(s => clients.Where(c => cluster.SiloLinesWith(s, $"Session {c.ClientId} connected") > 0).ToList()).ToArray();
        var stopped = onSilo[1].Count >= onSilo[0].Count ? 1 : 0;
        Assert.True(onSilo[stopped].Count > 0, $"sessions per silo: {onSilo[0].Count}, {onSilo[1].Count}");

        // A rolling upgrade: the silo stops gracefully, and the clean sessions it held in memory go with it.
        await cluster.StopSiloAsync(stopped);
        foreach (var (clientId, client) in onSilo[stopped])
        {
            var closed = await client.Disconnected.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(closed.Reason == MqttClientDisconnectReason.ServerBusy, $"{clientId} was closed with {closed.Reason}");
        }

        output.WriteLine($"silo {stopped} stopped; its {onSilo[stopped].Count} clients were disconnected");
        await ExpectWillsOfClosedClientsAsync(id, clients);
        foreach (var (_, client) in clients)
        {
            await client.DisposeAsync();
        }
    }

    private static MqttClientOptionsBuilder WithRetainedWill(MqttClientOptionsBuilder options, string id, string clientId) =>
        options.WithWillTopic($"will/{id}/{clientId}").WithWillPayload("offline").WithWillRetain(true).WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);

    /// <summary>
    /// Every client whose connection the server closed has its will published (retained, so whenever it came), and
    /// no client whose connection is open has.
    /// </summary>
    private async Task ExpectWillsOfClosedClientsAsync(string id, List<(string ClientId, TestClient Client)> clients)
    {
        var closed = clients.Where(c => c.Client.Disconnected.IsCompleted).Select(c => c.ClientId).ToHashSet();
        await using var watcher = await ConnectWhenReadyAsync(cluster.MqttPorts[0], $"wills-{id}", null);
        await watcher.SubscribeAsync($"will/{id}/#", MqttQualityOfServiceLevel.AtLeastOnce);
        var wills = new HashSet<string>();
        try
        {
            while (!closed.IsSubsetOf(wills))
            {
                var will = await watcher.ReceiveAsync($"the wills of the {closed.Count} clients whose connections were closed");
                Assert.Equal("offline", will.Text());
                wills.Add(will.Topic[$"will/{id}/".Length..]);
            }
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; got {string.Join(", ", wills)} of {string.Join(", ", closed)}\n{cluster.Logs()}", ex);
        }

        output.WriteLine($"wills of all {closed.Count} closed clients arrived");

        // A will of a client counted as open is only right if its connection was being closed meanwhile.
        foreach (var clientId in wills.Except(closed))
        {
            var client = clients.Single(c => c.ClientId == clientId).Client;
            await client.Disconnected.WaitAsync(TestClient.Patience);
        }
    }

    /// <summary>Connects once the gateway reaches the cluster again (it refuses with Server Unavailable until then).</summary>
    private static async Task<TestClient> ConnectWhenReadyAsync(int port, string clientId, Action<MqttClientOptionsBuilder>? configure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                return await TestClient.ConnectAsync(port, clientId, MQTTnet.Formatter.MqttProtocolVersion.V311, configure);
            }
            catch (Exception ex) when (DateTime.UtcNow < deadline && ex is MQTTnet.Adapter.MqttConnectingFailedException or MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                await Task.Delay(250);
            }
        }
    }
}
