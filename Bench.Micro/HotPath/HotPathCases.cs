using System.Buffers;
using OrleansMqtt.Gateway;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Bench.Micro.HotPath;

/// <summary>
/// The hot path's operations, one named case each: framing, decoding and encoding every packet type, topic matching,
/// and the gateway's per-message mapping (PUBLISH in → <see cref="MqttMessage"/>, <see cref="Delivery"/> → PUBLISH out).
/// BenchmarkDotNet times them (Bench.Micro); Tests/Performance holds each to the allocation budget in
/// Tests/Performance/allocation-budgets.json. This file is compiled into both, so the two always measure the same thing.
/// </summary>
public static class HotPathCases
{
    private const string DeviceTopic = "sensors/building-7/floor-3/room-42/temperature";

    private static readonly Dictionary<string, Func<Action>> Factories = new(StringComparer.Ordinal)
    {
        ["frame.publish"] = () =>
        {
            var bytes = new ReadOnlySequence<byte>(Encode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtLeastOnce), MqttProtocolVersion.V311)));
            return () => MqttFrameReader.TryRead(bytes, int.MaxValue, out _, out _);
        },
        ["decode.connect.v311"] = () => Decode(w => MqttEncoder.WriteConnect(w, Connect(MqttProtocolVersion.V311)), f => MqttDecoder.DecodeConnect(f)),
        ["decode.connect.v5"] = () => Decode(w => MqttEncoder.WriteConnect(w, Connect(MqttProtocolVersion.V500)), f => MqttDecoder.DecodeConnect(f)),
        ["decode.publish.qos0.v311"] = () => Decode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtMostOnce), MqttProtocolVersion.V311), f => MqttDecoder.DecodePublish(f, MqttProtocolVersion.V311)),
        ["decode.publish.qos1.v311"] = () => Decode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtLeastOnce), MqttProtocolVersion.V311), f => MqttDecoder.DecodePublish(f, MqttProtocolVersion.V311)),
        ["decode.publish.qos1.v5"] = () => Decode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtLeastOnce), MqttProtocolVersion.V500), f => MqttDecoder.DecodePublish(f, MqttProtocolVersion.V500)),
        ["decode.publish.qos1.v311.same-topic"] = () =>
        {
            var topics = new TopicNameCache();
            return Decode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtLeastOnce), MqttProtocolVersion.V311), f => MqttDecoder.DecodePublish(f, MqttProtocolVersion.V311, topics));
        },
        ["decode.puback.v311"] = () => Decode(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, 42), MqttProtocolVersion.V311), f => MqttDecoder.DecodeAck(f, MqttProtocolVersion.V311)),
        ["decode.puback.v5"] = () => Decode(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, 42), MqttProtocolVersion.V500), f => MqttDecoder.DecodeAck(f, MqttProtocolVersion.V500)),
        ["decode.pubrel.v311"] = () => Decode(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRel, 42), MqttProtocolVersion.V311), f => MqttDecoder.DecodeAck(f, MqttProtocolVersion.V311)),
        ["decode.pubrec.v5"] = () => Decode(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRec, 42), MqttProtocolVersion.V500), f => MqttDecoder.DecodeAck(f, MqttProtocolVersion.V500)),
        ["decode.pubcomp.v311"] = () => Decode(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubComp, 42), MqttProtocolVersion.V311), f => MqttDecoder.DecodeAck(f, MqttProtocolVersion.V311)),
        ["decode.auth.v5"] = () => Decode(w => MqttEncoder.WriteAuth(w, Auth()), f => MqttDecoder.DecodeAuth(f, MqttProtocolVersion.V500)),
        ["decode.connack.v5"] = () => Decode(w => MqttEncoder.WriteConnAck(w, new ConnAckPacket { ReasonCode = ReasonCode.Success, ReceiveMaximum = 100 }, MqttProtocolVersion.V500), f => MqttDecoder.DecodeConnAck(f, MqttProtocolVersion.V500)),
        ["decode.suback.v311"] = () => Decode(w => MqttEncoder.WriteSubAck(w, new SubAckPacket { PacketId = 7, ReasonCodes = [ReasonCode.GrantedQoS1] }, MqttProtocolVersion.V311), f => MqttDecoder.DecodeSubAck(f, MqttProtocolVersion.V311)),
        ["decode.unsuback.v5"] = () => Decode(w => MqttEncoder.WriteUnsubAck(w, new UnsubAckPacket { PacketId = 7, ReasonCodes = [ReasonCode.Success] }, MqttProtocolVersion.V500), f => MqttDecoder.DecodeUnsubAck(f, MqttProtocolVersion.V500)),
        ["decode.subscribe.v311"] = () => Decode(w => MqttEncoder.WriteSubscribe(w, Subscribe(), MqttProtocolVersion.V311), f => MqttDecoder.DecodeSubscribe(f, MqttProtocolVersion.V311)),
        ["decode.unsubscribe.v311"] = () => Decode(w => MqttEncoder.WriteUnsubscribe(w, new UnsubscribePacket { PacketId = 7, Filters = ["sensors/+/temperature"] }, MqttProtocolVersion.V311), f => MqttDecoder.DecodeUnsubscribe(f, MqttProtocolVersion.V311)),
        ["decode.pingreq"] = () => Decode(MqttEncoder.WritePingReq, f => MqttDecoder.ValidatePing(f)),
        ["decode.disconnect.v311"] = () => Decode(w => MqttEncoder.WriteDisconnect(w, DisconnectPacket.Normal, MqttProtocolVersion.V311), f => MqttDecoder.DecodeDisconnect(f, MqttProtocolVersion.V311)),
        ["encode.connect.v311"] = () => WriteWith(Connect(MqttProtocolVersion.V311), MqttEncoder.WriteConnect),
        ["encode.connack.v311"] = () => WriteWith(new ConnAckPacket { ReasonCode = ReasonCode.Success }, (w, p) => MqttEncoder.WriteConnAck(w, p, MqttProtocolVersion.V311)),
        ["encode.connack.v5"] = () => WriteWith(new ConnAckPacket { ReasonCode = ReasonCode.Success, ReceiveMaximum = 100, MaximumPacketSize = 1 << 20, TopicAliasMaximum = 10 }, (w, p) => MqttEncoder.WriteConnAck(w, p, MqttProtocolVersion.V500)),
        ["encode.publish.qos0.v311"] = () => WriteWith(Publish(QualityOfService.AtMostOnce), (w, p) => MqttEncoder.WritePublish(w, p, MqttProtocolVersion.V311)),
        ["encode.publish.qos1.v5"] = () => WriteWith(Publish(QualityOfService.AtLeastOnce), (w, p) => MqttEncoder.WritePublish(w, p, MqttProtocolVersion.V500)),
        ["encode.puback.v311"] = () => Write(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, 42), MqttProtocolVersion.V311)),
        ["encode.puback.v5"] = () => Write(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubAck, 42, ReasonCode.NoMatchingSubscribers), MqttProtocolVersion.V500)),
        ["encode.pubrec.v5"] = () => Write(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRec, 42), MqttProtocolVersion.V500)),
        ["encode.pubrel.v311"] = () => Write(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubRel, 42), MqttProtocolVersion.V311)),
        ["encode.pubcomp.v5"] = () => Write(w => MqttEncoder.WriteAck(w, new PacketIdAck(PacketType.PubComp, 42), MqttProtocolVersion.V500)),
        ["encode.auth.v5"] = () => WriteWith(Auth(), MqttEncoder.WriteAuth),
        ["encode.unsubscribe.v311"] = () => WriteWith(new UnsubscribePacket { PacketId = 7, Filters = ["sensors/+/temperature"] }, (w, p) => MqttEncoder.WriteUnsubscribe(w, p, MqttProtocolVersion.V311)),
        ["encode.pingreq"] = () => Write(MqttEncoder.WritePingReq),
        ["encode.subscribe.v311"] = () => WriteWith(Subscribe(), (w, p) => MqttEncoder.WriteSubscribe(w, p, MqttProtocolVersion.V311)),
        ["encode.suback.v311"] = () => WriteWith(new SubAckPacket { PacketId = 7, ReasonCodes = [ReasonCode.GrantedQoS1] }, (w, p) => MqttEncoder.WriteSubAck(w, p, MqttProtocolVersion.V311)),
        ["encode.unsuback.v5"] = () => WriteWith(new UnsubAckPacket { PacketId = 7, ReasonCodes = [ReasonCode.Success] }, (w, p) => MqttEncoder.WriteUnsubAck(w, p, MqttProtocolVersion.V500)),
        ["encode.pingresp"] = () => Write(MqttEncoder.WritePingResp),
        ["encode.disconnect.v5"] = () => Write(w => MqttEncoder.WriteDisconnect(w, DisconnectPacket.Normal, MqttProtocolVersion.V500)),
        ["topic.matches"] = () => () => Topic.Matches("sensors/+/floor-3/#", DeviceTopic),
        ["topictree.match.1000"] = () => TreeMatch(1_000),
        ["topictree.match.10000"] = () => TreeMatch(10_000),
        ["gateway.inbound.qos1.v311"] = () => Inbound(MqttProtocolVersion.V311),
        ["gateway.inbound.qos1.v5"] = () => Inbound(MqttProtocolVersion.V500),
        ["gateway.outbound.qos1.v311"] = () => Outbound(MqttProtocolVersion.V311, subscriptionIds: null),
        ["gateway.outbound.qos1.v5"] = () => Outbound(MqttProtocolVersion.V500, subscriptionIds: [7]),
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>Sets up case <paramref name="name"/> and returns one run of its operation.</summary>
    public static Action Create(string name) => Factories[name]();

    /// <summary>
    /// Bytes allocated per run of <paramref name="operation"/> on this thread, after a warm-up: the measure the
    /// allocation budgets are set in. Allocation counts are stable from run to run; times are not. The least of three
    /// rounds counts: what the runtime allocates once on the thread (a loop's on-stack replacement compiled in the
    /// middle of a round, a type loaded for it) lands in one round, what the operation allocates lands in every round.
    /// </summary>
    public static long BytesPerOperation(Action operation, int warmUp = 200, int iterations = 2_000)
    {
        for (var i = 0; i < warmUp; i++)
        {
            operation();
        }

        var least = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < iterations; i++)
            {
                operation();
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least / iterations;
    }

    /// <summary>A tree of <paramref name="subscriptions"/> filters like a fleet's (see <see cref="BuildTree"/>), matched against one device's topic.</summary>
    public static Action TreeMatch(int subscriptions)
    {
        var tree = BuildTree(subscriptions);
        var topic = $"devices/{subscriptions / 2}/telemetry/cmd";
        var results = new List<(string Filter, int Value)>();
        return () =>
        {
            results.Clear();
            tree.Match(topic, results);
        };
    }

    /// <summary>
    /// Every tenth filter is a per-device wildcard (devices/{i}/+/cmd), the others exact per-device topics
    /// (devices/{i}/{n}/state), plus two fleet-wide filters: what a partition of the wildcard index holds at scale.
    /// </summary>
    public static TopicFilterTree<int> BuildTree(int subscriptions)
    {
        var tree = new TopicFilterTree<int>();
        tree.Add("devices/#", -1);
        tree.Add("+/+/telemetry/cmd", -2);
        for (var i = 0; i < subscriptions - 2; i++)
        {
            tree.Add(i % 10 == 0 ? $"devices/{i}/+/cmd" : $"devices/{i - (i % 10)}/{i % 10}/state", i);
        }

        return tree;
    }

    private static PublishPacket Publish(QualityOfService qos) => new()
    {
        Topic = DeviceTopic,
        Qos = qos,
        PacketId = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)42,
        Payload = new ReadOnlySequence<byte>(new byte[64]),
    };

    private static ConnectPacket Connect(MqttProtocolVersion version) => new()
    {
        ProtocolVersion = version,
        ClientId = "sensor-000042",
        KeepAliveSeconds = 60,
        CleanStart = true,
        SessionExpiryInterval = version == MqttProtocolVersion.V500 ? 3600u : 0u,
        ReceiveMaximum = version == MqttProtocolVersion.V500 ? (ushort)100 : ushort.MaxValue,
    };

    private static SubscribePacket Subscribe() => new() { PacketId = 7, Subscriptions = [new TopicSubscription("sensors/+/temperature", QualityOfService.AtLeastOnce)] };

    /// <summary>
    /// What the gateway does per inbound PUBLISH before the grain call: decode (a device repeating its topic), then map
    /// to a message.
    /// </summary>
    private static Action Inbound(MqttProtocolVersion version)
    {
        var frame = FrameOf(Encode(w => MqttEncoder.WritePublish(w, Publish(QualityOfService.AtLeastOnce), version)));
        var topics = new TopicNameCache();
        return () =>
        {
            var packet = MqttDecoder.DecodePublish(frame, version, topics);
            MessageMapping.ToMessage(packet, packet.Topic, "sensor-000042");
        };
    }

    /// <summary>What the gateway does per delivery: map to a PUBLISH, then write it.</summary>
    private static Action Outbound(MqttProtocolVersion version, uint[]? subscriptionIds)
    {
        var message = new MqttMessage(DeviceTopic, new byte[64], 1, false);
        var delivery = new Delivery(1, message, 1, 42, false, false, subscriptionIds);
        var output = new ArrayBufferWriter<byte>(1024);
        return () =>
        {
            output.ResetWrittenCount();
            var packet = MessageMapping.ToPacket(delivery, version, DateTime.UtcNow);
            MqttEncoder.WritePublish(output, packet, version);
        };
    }

    private static byte[] Encode(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }

    private static MqttFrame FrameOf(byte[] bytes)
    {
        if (!MqttFrameReader.TryRead(new ReadOnlySequence<byte>(bytes), int.MaxValue, out var frame, out _))
        {
            throw new InvalidOperationException("not a whole packet");
        }

        return frame;
    }

    /// <summary>A SCRAM-SHA-256 continuation, as in enhanced authentication.</summary>
    private static AuthPacket Auth() => new()
    {
        ReasonCode = ReasonCode.ContinueAuthentication,
        AuthenticationMethod = "SCRAM-SHA-256",
        AuthenticationData = new byte[64],
    };

    private static Action Decode(Action<IBufferWriter<byte>> write, Action<MqttFrame> decode)
    {
        var frame = FrameOf(Encode(write));
        return () => decode(frame);
    }

    private static Action Write(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        return () =>
        {
            output.ResetWrittenCount();
            write(output);
        };
    }

    private static Action WriteWith<T>(T packet, Action<IBufferWriter<byte>, T> write)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        return () =>
        {
            output.ResetWrittenCount();
            write(output, packet);
        };
    }
}
