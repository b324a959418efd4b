using OrleansMqtt.Gateway;
using OrleansMqtt.Protocol;
using OrleansMqtt.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// A subscriber that never reads while a publisher floods: the broker (a separate process, default limits) drops it
/// instead of queueing for it, its memory stays bounded, and the subscribers that read get every message.
/// </summary>
public sealed class SlowConsumerTests(ITestOutputHelper output)
{
    private const int PayloadSize = 1024;
    private const int Messages = 120_000;
    private const int Window = 500;

    [Fact]
    public async Task A_subscriber_that_never_reads_is_dropped_and_the_brokers_memory_stays_bounded_while_others_keep_receiving()
    {
        var (broker, port) = await BrokerProcess.StartEmbeddedAsync("slow", new Dictionary<string, string>
        {
            // The publisher floods faster than a device may: the publish rate is not what this test is about.
            ["Mqtt__Limits__PublishRate"] = "0",
        });
        await using var _ = broker;
        var topic = $"flood/{Guid.NewGuid():N}";

        await using var slow = await RawMqttClient.OpenAsync(port, receiveBuffer: 4096);
        await slow.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V500, ClientId = "never-reads-" + Guid.NewGuid().ToString("N") });
        await slow.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtMostOnce));
        Assert.Equal(PacketType.SubAck, (await slow.ReadFrameAsync()).Type);

        var readers = new List<RawMqttClient>();
        for (var i = 0; i < 2; i++)
        {
            var reader = await RawMqttClient.OpenAsync(port);
            await reader.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V311, ClientId = $"reader-{i}-" + Guid.NewGuid().ToString("N") });
            await reader.SubscribeAsync(1, new TopicSubscription(topic, QualityOfService.AtMostOnce));
            Assert.Equal(PacketType.SubAck, (await reader.ReadFrameAsync()).Type);
            readers.Add(reader);
        }

        await using var publisher = await RawMqttClient.OpenAsync(port);
        await publisher.ConnectAsync(new ConnectPacket { ProtocolVersion = MqttProtocolVersion.V311, ClientId = "flooder-" + Guid.NewGuid().ToString("N") });

        // Warm the broker up with the same traffic, then take the baseline.
        var payload = new byte[PayloadSize];
        await FloodAsync(publisher, readers, topic, payload, 0, 2 * Window);
        var baseline = BrokerMemory.ResidentBytes(broker.Id);
        var peak = baseline;

        // The flood, in windows the reading subscribers keep up with: 120 MB for the one that never reads.
        for (var sent = 2 * Window; sent < Messages; sent += Window)
        {
            await FloodAsync(publisher, readers, topic, payload, sent, Window);
            peak = Math.Max(peak, BrokerMemory.ResidentBytes(broker.Id));
        }

        var growth = peak - baseline;
        output.WriteLine($"VmRSS baseline {baseline / 1024} KiB, peak {peak / 1024} KiB, growth {growth / 1024} KiB while {Messages * (long)PayloadSize / 1024} KiB were published to a subscriber that never reads");

        // The never-reading subscriber was dropped with 0x97 (it finds DISCONNECT after what its socket held).
        var frames = await slow.ReadUntilClosedAsync();
        Assert.True(frames.Count < Messages / 4, $"the subscriber that never read got {frames.Count} messages");
        await broker.WaitForLineAsync("Limit outbound_bytes hit", TestClient.Patience);

        // Bounded: the queue bound (4 MiB), socket buffers and the garbage collector's slack (Server GC keeps tens of
        // MB of young generation around under this churn: 41 MiB of growth after a 40 MB flood, 50 MiB after 120 MB),
        // not the flood itself.
        Assert.True(growth < 64L * 1024 * 1024, $"VmRSS grew by {growth / 1024 / 1024} MiB");
        foreach (var reader in readers)
        {
            await reader.DisposeAsync();
        }
    }

    /// <summary>Publishes <paramref name="count"/> messages at once, then waits until every reader has them all.</summary>
    private static async Task FloodAsync(RawMqttClient publisher, List<RawMqttClient> readers, string topic, byte[] payload, int first, int count)
    {
        await publisher.SendAsync(w =>
        {
            for (var i = 0; i < count; i++)
            {
                BitConverter.TryWriteBytes(payload, first + i);
                MqttEncoder.WritePublish(w, new PublishPacket { Topic = topic, Payload = new System.Buffers.ReadOnlySequence<byte>(payload) }, MqttProtocolVersion.V311);
            }
        });
        foreach (var reader in readers)
        {
            for (var i = 0; i < count; i++)
            {
                var message = await reader.ReadPublishAsync();
                Assert.Equal(first + i, BitConverter.ToInt32(System.Buffers.BuffersExtensions.ToArray(message.Payload)));
            }
        }
    }
}
