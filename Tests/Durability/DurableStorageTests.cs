using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansMqtt.Tests.Durability;

/// <summary>The embedded broker on Azure Table or Blob storage (Azurite), stopped and started again.</summary>
public sealed class DurableStorageTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("AzureTable")]
    [InlineData("AzureBlob")]
    public async Task A_restarted_broker_has_its_persistent_sessions_queued_and_retained_messages_and_subscriptions(string persistence)
    {
        var settings = await SettingsAsync(persistence);
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"durable-{id}";
        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await using (var sleeper = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(true).WithSessionExpiryInterval(3600)))
            {
                await sleeper.SubscribeAsync($"durable/{id}/#", MqttQualityOfServiceLevel.ExactlyOnce);
                await sleeper.DisconnectAsync();
            }

            await broker.Grains.WaitUntilOfflineAsync(clientId);
            await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
            for (var i = 0; i < 3; i++)
            {
                await publisher.PublishAsync($"durable/{id}/q", $"queued {i}", MqttQualityOfServiceLevel.AtLeastOnce);
            }

            await publisher.PublishAsync($"durable/{id}/q", "queued at QoS 2", MqttQualityOfServiceLevel.ExactlyOnce);
            await publisher.PublishAsync($"retained/{id}/state", "retained", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        }

        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await using var sleeper = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
            Assert.True(sleeper.ConnectResult.IsSessionPresent, "the persistent session did not survive the restart");
            var received = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                received.Add((await sleeper.ReceiveAsync("the messages queued before the restart")).Text());
            }

            Assert.Equal(["queued 0", "queued 1", "queued 2", "queued at QoS 2"], received);

            await using var late = await TestClient.ConnectAsync(broker.Port, $"late-{id}", MqttProtocolVersion.V500);
            await late.SubscribeAsync($"retained/{id}/#", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("retained", (await late.ReceiveAsync("the retained message stored before the restart")).Text());
            await late.PublishAsync($"durable/{id}/new", "after the restart", MqttQualityOfServiceLevel.AtLeastOnce);
            Assert.Equal("after the restart", (await sleeper.ReceiveAsync("a message routed by the subscription index stored before the restart")).Text());
        }
    }

    /// <summary>
    /// An Azure Table entity holds at most 1 MB, and a device offline long enough is owed more than that: its messages
    /// are kept in pages of their own (on Blob storage too, so that a commit does not write them all again), so it
    /// holds what its queue bound says (1,000 messages by default), the rest dropped and counted, its publishers never
    /// stalled, and after a restart it gets them all, in order.
    /// </summary>
    [Theory]
    [InlineData("AzureTable")]
    [InlineData("AzureBlob")]
    public async Task An_offline_session_holds_more_than_one_entity_takes_and_gets_it_all_after_a_restart(string persistence)
    {
        var settings = await SettingsAsync(persistence);
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"deep-{id}";
        var topic = $"deep/{id}/t";
        const int Count = 1100;
        const int Queued = 1000;
        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await SubscribeAndGoOfflineAsync(broker, clientId, topic);

            // 1,100 messages of 1 KB: the first 1,000 (about 1.1 MB stored) are queued, the last 100 dropped.
            await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
            var started = DateTime.UtcNow;
            for (var i = 0; i < Count; i++)
            {
                var result = await publisher.PublishAsync(topic, i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + new string('x', 1020), MqttQualityOfServiceLevel.AtLeastOnce);
                Assert.Equal(MqttClientPublishReasonCode.Success, result.ReasonCode);
            }

            var info = await broker.Grains.GetGrain<OrleansMqtt.Grains.ISessionGrain>(clientId).GetInfo();
            output.WriteLine($"{Count} published in {(DateTime.UtcNow - started).TotalSeconds:F1} s; the session holds {info.Queued} ({info.HeldBytes} bytes) and dropped {info.Dropped}");
            Assert.Equal(Queued, info.Queued);
            Assert.InRange(info.HeldBytes, OrleansMqtt.Grains.SessionOptions.AzureTableRecordLimit + 1, OrleansMqtt.Grains.SessionOptions.DefaultMaxSessionBytes);
            Assert.Equal(Count - Queued, info.Dropped);
        }

        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await using var back = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
            Assert.True(back.ConnectResult.IsSessionPresent);
            for (var i = 0; i < Queued; i++)
            {
                Assert.Equal(i, int.Parse((await back.ReceiveAsync($"held message {i} of {Queued}")).Text()[..4], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>
    /// A message up to the broker's packet bound (1 MiB) is larger than an Azure Table entity holds: it is kept in parts
    /// of a page and reaches an offline device whole, after a restart too, between the messages sent before and after it.
    /// </summary>
    [Fact]
    public async Task On_Table_storage_a_message_larger_than_an_entity_reaches_an_offline_session_whole_after_a_restart()
    {
        var settings = await SettingsAsync("AzureTable");
        var id = Guid.NewGuid().ToString("N")[..8];
        var clientId = $"big-{id}";
        var topic = $"big/{id}/firmware";
        var big = "0001" + new string('f', 1_000_000);
        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await SubscribeAndGoOfflineAsync(broker, clientId, topic);
            await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
            foreach (var payload in new[] { "0000", big, "0002" })
            {
                Assert.Equal(MqttClientPublishReasonCode.Success, (await publisher.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
            }

            var info = await broker.Grains.GetGrain<OrleansMqtt.Grains.ISessionGrain>(clientId).GetInfo();
            Assert.Equal(3, info.Queued);
            Assert.Equal(0, info.Dropped);
        }

        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await using var back = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
            Assert.Equal("0000", (await back.ReceiveAsync("the message before")).Text());
            Assert.Equal(big, (await back.ReceiveAsync("the large message")).Text());
            Assert.Equal("0002", (await back.ReceiveAsync("the message after")).Text());
        }
    }

    /// <summary>
    /// The records that grow with the fleet outgrow an Azure Table entity (1 MB): here the retained messages under one
    /// first level, which one partition of the retained index holds. With sessions on Table storage they are kept in
    /// blobs, and a wildcard subscriber gets them all, after a restart too.
    /// </summary>
    [Fact]
    public async Task With_sessions_on_Table_storage_a_retained_partition_larger_than_an_entity_is_stored_and_found()
    {
        var settings = await SettingsAsync("AzureTable");
        var level = "fleet" + Guid.NewGuid().ToString("N")[..8];
        const int Count = 130;
        var payload = new string('s', 8 * 1024);
        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            // 130 retained messages of 8 KB: 1.04 MB in one partition.
            await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{level}", MqttProtocolVersion.V500);
            for (var i = 0; i < Count; i++)
            {
                var result = await publisher.PublishAsync($"{level}/device-{i:D3}/status", $"{i:D3}{payload}", MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
                Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, result.ReasonCode);
            }
        }

        await using (var broker = await EmbeddedBroker.StartAsync(settings))
        {
            await using var dashboard = await TestClient.ConnectAsync(broker.Port, $"dash-{level}", MqttProtocolVersion.V500);
            await dashboard.SubscribeAsync($"{level}/+/status", MqttQualityOfServiceLevel.AtLeastOnce);
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < Count; i++)
            {
                var message = await dashboard.ReceiveAsync($"retained message {i} of {Count}");
                Assert.True(message.Retain);
                seen.Add(message.Text()[..3]);
            }

            Assert.Equal(Enumerable.Range(0, Count).Select(i => i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)), seen);
        }
    }

    /// <summary>
    /// A persistent session's subscriptions share its Table entity with its will and the names of its messages: a
    /// SUBSCRIBE that would take it past what the entity leaves them is refused (v5 0x97 Quota exceeded), and the
    /// session works on.
    /// </summary>
    [Fact]
    public async Task On_Table_storage_a_persistent_session_refuses_subscriptions_its_entity_cannot_hold_and_works_on()
    {
        var settings = await SettingsAsync("AzureTable");
        await using var broker = await EmbeddedBroker.StartAsync(settings);
        var id = Guid.NewGuid().ToString("N")[..8];
        await using var device = await TestClient.ConnectAsync(broker.Port, $"subs-{id}", MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600));
        var filters = Enumerable.Range(0, 1000).Select(i => $"subs/{id}/{i:D4}/{new string('f', 790)}").ToList();
        var codes = new List<MqttClientSubscribeResultCode>();
        foreach (var chunk in filters.Chunk(50))
        {
            var options = new MqttClientSubscribeOptionsBuilder();
            foreach (var filter in chunk)
            {
                options.WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            }

            codes.AddRange((await device.Client.SubscribeAsync(options.Build())).Items.Select(item => item.ResultCode));
        }

        // About 635 KiB for subscriptions of some 850 bytes each: the first ~760 granted, every later one refused.
        var granted = codes.TakeWhile(c => c == MqttClientSubscribeResultCode.GrantedQoS1).Count();
        output.WriteLine($"{granted} of {filters.Count} subscriptions granted");
        Assert.InRange(granted, 700, 830);
        Assert.All(codes.Skip(granted), c => Assert.Equal(MqttClientSubscribeResultCode.QuotaExceeded, c));

        // The session still stores what it is sent: a QoS 1 message to its last granted subscription, and one more.
        await using var publisher = await TestClient.ConnectAsync(broker.Port, $"pub-{id}", MqttProtocolVersion.V500);
        Assert.Equal(MqttClientPublishReasonCode.Success, (await publisher.PublishAsync(filters[granted - 1], "one", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NoMatchingSubscribers, (await publisher.PublishAsync(filters[granted], "refused", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.Success, (await publisher.PublishAsync(filters[0], "two", MqttQualityOfServiceLevel.AtLeastOnce)).ReasonCode);
        Assert.Equal("one", (await device.ReceiveAsync("the message to its last granted subscription")).Text());
        Assert.Equal("two", (await device.ReceiveAsync("the message to its first subscription")).Text());
    }

    [Fact]
    public async Task A_queue_bound_whose_names_a_Table_entity_cannot_hold_stops_the_broker_at_start_with_a_message_that_says_why()
    {
        var settings = await SettingsAsync("AzureTable");
        settings["Mqtt:Sessions:MaxQueuedMessages"] = "100000";
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => EmbeddedBroker.StartAsync(settings));
        Assert.Contains("Mqtt:Sessions:MaxQueuedMessages (100000)", error.Message, StringComparison.Ordinal);
        Assert.Contains("AzureBlob", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Storage writes per message, group commit included: QoS 1 messages published concurrently to persistent
    /// subscribers, online and offline. Prints the figures; fails only if group commit stopped sharing writes.
    /// </summary>
    [Fact]
    public async Task Write_amplification_of_QoS_1_to_persistent_sessions()
    {
        const int messages = 200;
        const int subscribers = 5;
        CountingGrainStorage? storage = null;
        var settings = await SettingsAsync("AzureTable");
        await using var broker = await EmbeddedBroker.StartAsync(settings, silo => CountingGrainStorage.Install(silo, s => storage = s));
        var id = Guid.NewGuid().ToString("N")[..8];
        var online = new List<TestClient>();
        for (var i = 0; i < subscribers; i++)
        {
            var client = await TestClient.ConnectAsync(broker.Port, $"wa-{id}-{i}", MqttProtocolVersion.V500, o => o.WithCleanStart(true).WithSessionExpiryInterval(3600));
            await client.SubscribeAsync($"wa/{id}", MqttQualityOfServiceLevel.AtLeastOnce);
            online.Add(client);
        }

        await using var publisher = await TestClient.ConnectAsync(broker.Port, $"wa-pub-{id}", MqttProtocolVersion.V500);
        var before = storage!.TotalWrites;
        await PublishConcurrentlyAsync(publisher, $"wa/{id}", messages);
        foreach (var client in online)
        {
            for (var n = 0; n < messages; n++)
            {
                await client.ReceiveAsync($"message {n} of {messages}");
            }
        }

        // The last PUBACKs reach the sessions shortly after the last message: wait for their writes to settle.
        await broker.Grains.WaitForSessionAsync($"wa-{id}-{subscribers - 1}", s => s.InFlight == 0, "had every message acknowledged");
        var onlineWrites = storage.TotalWrites - before;

        foreach (var client in online)
        {
            await client.DisconnectAsync();
        }

        for (var i = 0; i < subscribers; i++)
        {
            await broker.Grains.WaitUntilOfflineAsync($"wa-{id}-{i}");
        }

        before = storage.TotalWrites;
        await PublishConcurrentlyAsync(publisher, $"wa/{id}", messages);
        var offlineWrites = storage.TotalWrites - before;

        var perDeliveryOnline = (double)onlineWrites / (messages * subscribers);
        var perDeliveryOffline = (double)offlineWrites / (messages * subscribers);
        output.WriteLine($"{messages} QoS 1 messages to {subscribers} persistent sessions, Azure Table on Azurite:");
        output.WriteLine($"  online (delivery + PUBACK): {onlineWrites} writes, {perDeliveryOnline:F2} per delivered copy, {(double)onlineWrites / messages:F2} per published message");
        output.WriteLine($"  offline (queued):           {offlineWrites} writes, {perDeliveryOffline:F2} per queued copy, {(double)offlineWrites / messages:F2} per published message");
        output.WriteLine($"  by state: {string.Join(", ", storage.Writes.Select(w => $"{w.Key}={w.Value}"))}");

        // Without group commit every copy costs two writes online (store, acknowledge) and one offline.
        Assert.True(perDeliveryOnline <= 2.0, $"{perDeliveryOnline:F2} writes per delivered copy");
        Assert.True(perDeliveryOffline <= 1.0, $"{perDeliveryOffline:F2} writes per queued copy");
        foreach (var client in online)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>Many QoS 1 messages in flight at once, within the broker's Receive Maximum (100).</summary>
    private static async Task PublishConcurrentlyAsync(TestClient publisher, string topic, int count)
    {
        for (var start = 0; start < count; start += 50)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(50, count - start)).Select(n => publisher.PublishAsync(topic, n.ToString(), MqttQualityOfServiceLevel.AtLeastOnce)));
        }
    }

    private static async Task<Dictionary<string, string?>> SettingsAsync(string persistence)
    {
        var azurite = await Azurite.SharedAsync();
        return new Dictionary<string, string?>
        {
            ["Orleans:ServiceId"] = "durable-" + Guid.NewGuid().ToString("N"),
            ["Orleans:Persistence"] = persistence,
            ["Orleans:Reminders"] = "AzureTable",
            ["Azure:Storage:ConnectionString"] = azurite.ConnectionString,
        };
    }

    /// <summary>A device with a persistent session (an hour's expiry) subscribes at QoS 1 and goes offline.</summary>
    private static async Task SubscribeAndGoOfflineAsync(EmbeddedBroker broker, string clientId, string topic)
    {
        await using (var device = await TestClient.ConnectAsync(broker.Port, clientId, MqttProtocolVersion.V500, o => o.WithCleanStart(false).WithSessionExpiryInterval(3600)))
        {
            await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);
            await device.DisconnectAsync();
        }

        await broker.Grains.WaitUntilOfflineAsync(clientId);
    }
}
