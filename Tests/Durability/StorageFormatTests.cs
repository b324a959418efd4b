using System.Buffers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.Serializers;
using Orleans.Serialization.Session;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// The stored format of a session: a message keeps the layout that messages already stored have, what the broker writes
/// to Azure storage is byte for byte what Orleans' own storage serializer writes, but for a message that occurs twice
/// (written in full again, not as a reference; state stored by either reads with the other), and a session comes back
/// whole.
/// </summary>
public sealed class StorageFormatTests
{
    private static readonly IServiceProvider Services = new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(SessionState).Assembly).AddAssembly(typeof(MqttMessage).Assembly))
        .BuildServiceProvider();

    private static readonly Serializer Serializer = Services.GetRequiredService<Serializer>();

    [Fact]
    public void A_message_is_written_field_by_field_as_stored_messages_were_and_reads_back()
    {
        // The stored layout of a message, written by hand: an empty base section, then topic, payload (as a
        // length-prefixed ReadOnlyMemory<byte>), QoS and retain flag by field id. A change to MqttMessage that moves
        // a field (another id, another section) would leave messages already stored unreadable.
        var buffer = new ArrayBufferWriter<byte>();
        using (var session = Services.GetRequiredService<SerializerSessionPool>().GetSession())
        {
            var writer = Writer.Create(buffer, session);
            writer.WriteStartObject(0, typeof(MqttMessage), typeof(MqttMessage));
            writer.WriteEndBase();
            StringCodec.WriteField(ref writer, 0, "fleet/old/t");
            ReadOnlyMemoryOfByteCodec.WriteField(ref writer, 1, new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes("stored before")));
            ByteCodec.WriteField(ref writer, 1, (byte)1);
            BoolCodec.WriteField(ref writer, 1, true);
            writer.WriteEndObject();
            writer.Commit();
        }

        // What the broker writes begins the same way (the optional fields follow, before the end of the object).
        var written = Serializer.SerializeToArray(new MqttMessage("fleet/old/t", Encoding.UTF8.GetBytes("stored before"), 1, true));
        var layout = Convert.ToHexString(buffer.WrittenSpan[..^1]);
        Assert.StartsWith(layout, Convert.ToHexString(written), StringComparison.Ordinal);

        var message = Serializer.Deserialize<MqttMessage>(buffer.WrittenMemory)!;
        Assert.Equal(("fleet/old/t", "stored before", (byte)1, true), (message.Topic, Encoding.UTF8.GetString(message.Payload.Span), message.Qos, message.Retain));
    }

    [Fact]
    public void A_session_with_queued_and_in_flight_messages_is_stored_as_Orleans_stores_it_and_read_back_whole()
    {
        var state = SessionWithMessages();

        var ours = new PooledGrainStorageSerializer(Serializer).Serialize(state);
        var orleans = new OrleansGrainStorageSerializer(Serializer).Serialize(state);
        Assert.Equal(orleans.ToArray(), ours.ToArray());

        var read = new PooledGrainStorageSerializer(Serializer).Deserialize<SessionState>(orleans)!;
        Assert.Equal(["fleet/1/t: queued 0", "fleet/1/t: queued 1", "fleet/1/t: shared"], read.Queue.Select(Text));
        var inFlight = Assert.Single(read.InFlight);
        Assert.Equal((7, true, "fleet/2/t: in flight"), (inFlight.PacketId, inFlight.Released, Text(inFlight.Message)));
        Assert.Equal([1u, 2u], read.Queue[2].SubscriptionIds!);
        Assert.Equal(state.LastPacketId, read.LastPacketId);
    }

    [Fact]
    public void One_message_queued_twice_is_stored_twice_and_reads_back_twice()
    {
        // Overlapping subscriptions may queue the same message object twice. Orleans' serializer writes the second
        // as a reference to the first; stored state has it in full both times (MqttMessageCodec.InFull), and either
        // form reads back.
        var message = new MqttMessage("fleet/3/t", Encoding.UTF8.GetBytes("twice"), 1, false);
        var state = new SessionState { Exists = true };
        var queued = new QueuedMessage(message, 1, false, null);
        state.Queue.Add(queued);
        state.Queue.Add(queued);

        var stored = new PooledGrainStorageSerializer(Serializer).Serialize(state);
        var referenced = new OrleansGrainStorageSerializer(Serializer).Serialize(state);
        Assert.True(stored.ToArray().Length > referenced.ToArray().Length, "the second copy is written in full");
        foreach (var form in new[] { stored, referenced })
        {
            var read = new PooledGrainStorageSerializer(Serializer).Deserialize<SessionState>(form)!;
            Assert.Equal(["fleet/3/t: twice", "fleet/3/t: twice"], read.Queue.Select(Text));
        }
    }

    [Fact]
    public void A_session_of_many_messages_is_stored_in_full_and_reads_back_whole()
    {
        var state = ManyMessages();
        var read = new PooledGrainStorageSerializer(Serializer).Deserialize<SessionState>(new PooledGrainStorageSerializer(Serializer).Serialize(state))!;
        Assert.Equal(state.Queue.Select(Describe), read.Queue.Select(Describe));
        Assert.Equal(state.InFlight.Select(m => (m.PacketId, m.Released, Describe(m.Message))), read.InFlight.Select(m => (m.PacketId, m.Released, Describe(m.Message))));
        Assert.NotSame(read.Queue[0].Message, read.Queue[^1].Message);
    }

    [Fact]
    public void A_session_of_many_messages_is_written_byte_for_byte_as_before()
    {
        // stored-session.hex holds what the broker wrote for this state with Orleans' generated codecs (2026-12-05):
        // more than 64 tracked objects (Orleans' identity table, not its small array), topics and one message
        // written as back-references, every optional field of a message set in some. Never regenerate it: a state
        // written differently is a change of the stored format.
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Durability", "stored-session.hex")).Trim();
        var state = ManyMessages();
        Assert.Equal(expected, Convert.ToHexString(Serializer.SerializeToArray(state)));

        var read = Serializer.Deserialize<SessionState>(Convert.FromHexString(expected))!;
        Assert.Equal(state.Queue.Select(Describe), read.Queue.Select(Describe));
        Assert.Equal(state.InFlight.Select(m => Describe(m.Message)), read.InFlight.Select(m => Describe(m.Message)));
        Assert.Same(read.Queue[0].Message, read.Queue[^1].Message);
    }

    [Fact]
    public void Every_part_of_a_message_is_serialized()
    {
        // MqttMessageCodec names each field by hand: a parameter added to MqttMessage and not to the codec would
        // silently come back empty. Every parameter is set here (checked first, so that a new one must be set too),
        // and every one must survive, between processes and in stored state.
        var message = new MqttMessage(
            "fleet/5/t",
            Encoding.UTF8.GetBytes("all"),
            2,
            true,
            new MessageProperties(1, 30, "reply/5", [5], [new UserPropertyPair("k", "v")], "text/plain"),
            "device-5",
            new DateTime(2026, 12, 5, 13, 0, 0, DateTimeKind.Utc),
            42,
            638_900_000_000_000_005);
        var parameters = typeof(MqttMessage).GetConstructors().Single(c => c.GetParameters().Length > 1).GetParameters();
        var properties = parameters.Select(p => typeof(MqttMessage).GetProperty(p.Name!)!).ToList();
        Assert.All(properties, p => Assert.False(IsDefault(p.GetValue(message), p.PropertyType), $"{p.Name} is not set in this test"));

        var stored = new PooledGrainStorageSerializer(Serializer);
        foreach (var read in new[] { Serializer.Deserialize<MqttMessage>(Serializer.SerializeToArray(message))!, stored.Deserialize<MqttMessage>(stored.Serialize(message))! })
        {
            Assert.All(properties, p => Assert.False(IsDefault(p.GetValue(read), p.PropertyType), $"{p.Name} was lost"));
            Assert.Equal("all", Encoding.UTF8.GetString(read.Payload.Span));
            Assert.Equal(message with { Payload = read.Payload, Properties = read.Properties }, read);
            Assert.Equal(("reply/5", "k", "text/plain"), (read.Properties!.ResponseTopic, read.Properties.UserProperties![0].Name, read.Properties.ContentType));
        }
    }

    [Fact]
    public void A_message_takes_no_more_stored_bytes_than_its_session_counts_for_it()
    {
        // Sessions bound the bytes they hold (Mqtt:Sessions:MaxSessionBytes) and the largest message they store on
        // Azure Table storage (one page, one entity) by StoredSize: it must never count a message at less than it takes.
        var odd = new[]
        {
            new MqttMessage("f\u00fcr/\u6e29\u5ea6/\U0001F321", new byte[1000], 1, false),
            new MqttMessage("a", ReadOnlyMemory<byte>.Empty, 2, true, new MessageProperties(1, uint.MaxValue, "r\u00e9ponse/" + new string('x', 300), new byte[200], [.. Enumerable.Range(0, 40).Select(i => new UserPropertyPair("n\u00e4me" + i, new string('\u00e9', i)))], "application/\u00fc"), new string('\u00e9', 100), DateTime.MaxValue, long.MaxValue, long.MaxValue),
            new MqttMessage(new string('t', 1024), new byte[70_000], 1, false, null, "device"),
        };
        var queued = ManyMessages().Queue.Concat(odd.Select(m => new QueuedMessage(m, 2, true, [.. Enumerable.Range(0, 20).Select(i => uint.MaxValue - (uint)i)], "$share/\u00e9/#"))).ToList();
        var empty = Stored(new SessionState { Exists = true });
        foreach (var message in queued)
        {
            var inQueue = new SessionState { Exists = true };
            inQueue.Queue.Add(message);
            var inFlight = new SessionState { Exists = true };
            inFlight.InFlight.Add(new InFlightMessage { PacketId = ushort.MaxValue, Message = message, Released = true });
            Assert.True(Stored(inQueue) - empty <= StoredSize.Of(message), $"queued: {Stored(inQueue) - empty} bytes stored, {StoredSize.Of(message)} counted for {Describe(message)}");
            Assert.True(Stored(inFlight) - empty <= StoredSize.Of(message), $"in flight: {Stored(inFlight) - empty} bytes stored, {StoredSize.Of(message)} counted for {Describe(message)}");
            var page = PooledGrainStorageSerializer.SerializeToArray(Serializer, new SessionPage { Sequences = [long.MaxValue], Messages = [message] }).Length;
            Assert.True(page <= StoredSize.Of(message) + SessionOptions.PageReserve, $"a page of one: {page} bytes stored, {StoredSize.Of(message)} counted for {Describe(message)}");
        }

        // A paged session's record names each message it holds in at most RecordBytesPerMessage bytes (12 on average
        // here, with sequence numbers and packet ids at their largest).
        const int Held = 2000;
        var named = PooledGrainStorageSerializer.SerializeToArray(Serializer, new SessionRecord
        {
            Session = new SessionState { Exists = true },
            InFlight = [.. Enumerable.Range(0, Held / 2).Select(i => long.MaxValue - i)],
            PacketIds = [.. Enumerable.Range(0, Held / 2).Select(i => (ushort)(ushort.MaxValue - i))],
            Released = [.. Enumerable.Range(0, Held / 2).Select(i => i % 2 == 0)],
            Queue = [.. Enumerable.Range(0, Held / 2).Select(i => long.MaxValue - Held + i)],
            NextSequence = long.MaxValue,
            NextPage = long.MaxValue,
        }).Length;
        var none = PooledGrainStorageSerializer.SerializeToArray(Serializer, new SessionRecord { Session = new SessionState { Exists = true }, NextSequence = long.MaxValue, NextPage = long.MaxValue }).Length;
        Assert.True(named - none <= Held * SessionOptions.RecordBytesPerMessage, $"{named - none} bytes for naming {Held} messages");

        // All together, and not far over: a device's message of 1 KB is counted within 128 bytes of what it takes.
        var all = new SessionState { Exists = true };
        all.Queue.AddRange(queued);
        Assert.True(Stored(all) - empty <= queued.Sum(StoredSize.Of));
        var device = new SessionState { Exists = true };
        device.Queue.Add(new QueuedMessage(new MqttMessage("fleet/device-42/telemetry", new byte[1024], 1, false, null, "device-42", null, 0, 638_900_000_000_000_000), 1, false, null));
        Assert.InRange(StoredSize.Of(device.Queue[0]) - (Stored(device) - empty), 0, 128);
    }

    private static long Stored(SessionState state) => PooledGrainStorageSerializer.SerializeToArray(Serializer, state).Length;

    private static bool IsDefault(object? value, Type type) =>
        value is null || (type.IsValueType && value.Equals(Activator.CreateInstance(type)));

    [Fact]
    public void Messages_go_through_the_broker_codec_and_are_passed_on_uncopied()
    {
        // The broker's codec leaves payloads out of the serializer's table of written objects (its reason is on
        // MqttMessageCodec); a message is immutable, so grains in one process share it rather than copy it.
        Assert.IsType<MqttMessageCodec>(Services.GetRequiredService<ICodecProvider>().GetCodec<MqttMessage>());
        var message = new MqttMessage("fleet/4/t", Encoding.UTF8.GetBytes("shared"), 1, false);
        Assert.Same(message, Services.GetRequiredService<DeepCopier>().Copy(message));

        // Its alias still names it, wherever a message was written with its type.
        Assert.Equal(typeof(MqttMessage), Services.GetRequiredService<Orleans.Serialization.TypeSystem.TypeConverter>().Parse("mqtt.MqttMessage"));
        var asObject = Assert.IsType<MqttMessage>(Serializer.Deserialize<object>(Serializer.SerializeToArray<object>(message)));
        Assert.Equal((message.Topic, "shared"), (asObject.Topic, Encoding.UTF8.GetString(asObject.Payload.Span)));
    }

    private static SessionState ManyMessages()
    {
        string[] topics = ["fleet/a/temp", "fleet/b/temp", "fleet/c/status"];
        var state = new SessionState { Exists = true, ProtocolVersion = 5, SessionExpiryInterval = 600, LastPacketId = 90 };
        var messages = new List<MqttMessage>();
        for (var i = 0; i < 80; i++)
        {
            var properties = i % 5 == 0
                ? new MessageProperties(1, 60, "reply/" + i, [(byte)i, 2, 3], [new UserPropertyPair("k", "v" + i), new UserPropertyPair("k", "w")], "text/plain")
                : null;
            messages.Add(new MqttMessage(
                topics[i % 3],
                Encoding.UTF8.GetBytes($"payload {i}"),
                (byte)(i % 3),
                i % 7 == 0,
                properties,
                i % 2 == 0 ? "device-" + (i % 4) : null,
                i % 6 == 0 ? new DateTime(2026, 12, 5, 12, 0, i % 60, DateTimeKind.Utc) : null,
                i % 4 == 0 ? 1_000_000 + i : 0,
                638_900_000_000_000_000 + i));
        }

        for (var i = 0; i < 60; i++)
        {
            state.Queue.Add(new QueuedMessage(messages[i], messages[i].Qos, messages[i].Retain, i % 9 == 0 ? [7u] : null));
        }

        for (var i = 60; i < 80; i++)
        {
            state.InFlight.Add(new InFlightMessage { PacketId = (ushort)(i + 1), Message = new QueuedMessage(messages[i], 1, false, null), Released = i % 2 == 0 });
        }

        state.Queue.Add(new QueuedMessage(messages[0], 2, true, null, "$share/g/fleet/+/temp"));
        return state;
    }

    private static string Describe(QueuedMessage queued)
    {
        var m = queued.Message;
        var p = m.Properties;
        return $"{m.Topic}|{Encoding.UTF8.GetString(m.Payload.Span)}|{m.Qos}|{m.Retain}|{m.PublisherId}|{m.ExpiresAtUtc:O}|{m.ExactlyOnceId}|{m.PublishedAtTicks}|" +
            $"{p?.PayloadFormatIndicator}|{p?.MessageExpiryInterval}|{p?.ResponseTopic}|{(p?.CorrelationData is { } cd ? Convert.ToHexString(cd) : "")}|" +
            $"{string.Join(",", p?.UserProperties?.Select(u => u.Name + "=" + u.Value) ?? [])}|{p?.ContentType}|{queued.Qos}|{queued.Retain}|" +
            $"{string.Join(",", queued.SubscriptionIds ?? [])}|{queued.SharedVia}";
    }

    private static SessionState SessionWithMessages()
    {
        var state = new SessionState { Exists = true, ProtocolVersion = 5, SessionExpiryInterval = 3600, LastPacketId = 7 };
        for (var i = 0; i < 2; i++)
        {
            state.Queue.Add(new QueuedMessage(new MqttMessage("fleet/1/t", Encoding.UTF8.GetBytes($"queued {i}"), 1, false), 1, false, null));
        }

        state.Queue.Add(new QueuedMessage(new MqttMessage("fleet/1/t", Encoding.UTF8.GetBytes("shared"), 1, false), 1, false, [1u, 2u], "$share/g/fleet/+/t"));
        state.InFlight.Add(new InFlightMessage
        {
            PacketId = 7,
            Released = true,
            Message = new QueuedMessage(new MqttMessage("fleet/2/t", Encoding.UTF8.GetBytes("in flight"), 2, false), 2, false, null),
        });
        return state;
    }

    private static string Text(QueuedMessage queued) => $"{queued.Message.Topic}: {Encoding.UTF8.GetString(queued.Message.Payload.Span)}";
}
