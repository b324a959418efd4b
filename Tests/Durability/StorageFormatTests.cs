using System.Buffers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.Session;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.Durability;

/// <summary>
/// The stored format of a session: a message keeps the layout that messages already stored have, what the broker writes
/// to Azure storage is byte for byte what Orleans' own storage serializer writes (state stored by either reads with the
/// other), and a session comes back whole.
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
    public void One_message_queued_twice_reads_back_twice()
    {
        // Overlapping subscriptions may queue the same message object twice: without a back-reference to it, each
        // copy is written in full, and both come back.
        var message = new MqttMessage("fleet/3/t", Encoding.UTF8.GetBytes("twice"), 1, false);
        var state = new SessionState { Exists = true };
        var queued = new QueuedMessage(message, 1, false, null);
        state.Queue.Add(queued);
        state.Queue.Add(queued);

        var read = Serializer.Deserialize<SessionState>(Serializer.SerializeToArray(state))!;
        Assert.Equal(["fleet/3/t: twice", "fleet/3/t: twice"], read.Queue.Select(Text));
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
