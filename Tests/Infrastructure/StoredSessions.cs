using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>Sessions as a grain storage sees them: numbered messages, and an activation's hold on its state.</summary>
public static class StoredSessions
{
    public const string StateName = "session";

    public static readonly Serializer StateSerializer = new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(SessionState).Assembly).AddAssembly(typeof(MqttMessage).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    /// <summary>A QoS 1 message whose payload starts with its number, <paramref name="size"/> bytes in all.</summary>
    public static QueuedMessage Message(string topic, int number, int size = 16) =>
        new(new MqttMessage(topic, Encoding.UTF8.GetBytes(number.ToString("D6", CultureInfo.InvariantCulture) + new string('p', Math.Max(0, size - 6))), 1, false, PublisherId: "pub"), 1, false, [(uint)number]);

    public static int Number(QueuedMessage message) => int.Parse(Encoding.UTF8.GetString(message.Message.Payload.Span[..6]), CultureInfo.InvariantCulture);

    /// <summary>The numbers of the messages a session holds, in flight first, then queued.</summary>
    public static IEnumerable<int> Numbers(SessionState state) => state.InFlight.Select(m => m.Message).Concat(state.Queue).Select(Number);

    /// <summary>
    /// Fills a session as a device with a backlog has it: subscribed to <c>fleet/+/cmd</c>, messages 0–2 in flight
    /// (the second released), 3–299 queued, each <paramref name="size"/> bytes.
    /// </summary>
    public static void HoldBacklog(SessionState state, int size)
    {
        state.Subscriptions["fleet/+/cmd"] = new StoredSubscription(1, false, false, 0, 4);
        var messages = Enumerable.Range(0, 300).Select(i => Message($"fleet/{i % 7}/cmd", i, size)).ToList();
        for (var i = 0; i < 3; i++)
        {
            state.InFlight.Add(new InFlightMessage { PacketId = (ushort)(i + 1), Message = messages[i], Released = i == 1 });
        }

        state.Queue.AddRange(messages.Skip(3));
    }

    /// <summary>That <paramref name="read"/> is the session <see cref="HoldBacklog"/> filled, stored as <paramref name="written"/>.</summary>
    public static void AssertBacklog(Held written, Held read)
    {
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(3600u, read.State.SessionExpiryInterval);
        Assert.Equal(4u, read.State.Subscriptions["fleet/+/cmd"].SubscriptionIdentifier);
        Assert.Equal([1, 2, 3], read.State.InFlight.Select(m => (int)m.PacketId));
        Assert.Equal([false, true, false], read.State.InFlight.Select(m => m.Released));
        Assert.Equal(Enumerable.Range(0, 300), Numbers(read.State));
        Assert.Equal("fleet/5/cmd", read.State.Queue[2].Message.Topic);
        Assert.Equal([(uint)5], read.State.Queue[2].SubscriptionIds!);
    }

    /// <summary>A read by an activation through <paramref name="storage"/>.</summary>
    public static async Task<Held> ReadAsync(IGrainStorage storage, GrainId grainId)
    {
        var held = new Held();
        await storage.ReadStateAsync(StateName, grainId, held);
        return held;
    }

    /// <summary>A session not stored before, made persistent, as a client's first CONNECT makes it.</summary>
    public static async Task<Held> NewSessionAsync(IGrainStorage storage, GrainId grainId)
    {
        var held = await ReadAsync(storage, grainId);
        Assert.False(held.RecordExists);
        held.State.Exists = true;
        held.State.SessionExpiryInterval = 3600;
        return held;
    }

    /// <summary>One activation's hold on its state, as Orleans keeps it.</summary>
    public sealed class Held : IGrainState<SessionState>
    {
        private SessionState _state = new();

        public SessionState State => _state;

        SessionState? IGrainState<SessionState>.State { get => _state; set => _state = value ?? new(); }

        public string? ETag { get; set; }

        public bool RecordExists { get; set; }
    }
}
