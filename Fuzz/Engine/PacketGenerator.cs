using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Fuzz;

/// <summary>
/// Valid packets of every type, with random field values, encoded by the project's encoder: the seeds the
/// mutator starts from, so that mutated inputs get past the first checks and reach deep into the decoders.
/// </summary>
public static class PacketGenerator
{
    public static readonly MqttProtocolVersion[] Versions = [MqttProtocolVersion.V310, MqttProtocolVersion.V311, MqttProtocolVersion.V500];

    private static readonly string[] Words = ["a", "sensors", "+", "#", "$SYS", "x/y", "", "é", "\u00ff", "dev-42", "$share/g/t", "/", "a/+/b", "🙂"];

    /// <summary>Like <see cref="Next"/>, but a combination the encoder refuses to write becomes a PINGREQ.</summary>
    public static byte[] NextOrPing(Random random, MqttProtocolVersion version)
    {
        try
        {
            return Next(random, version);
        }
        catch (Exception ex) when (ex is ArgumentException or MqttProtocolException or InvalidOperationException)
        {
            return [0xC0, 0x00];
        }
    }

    /// <summary>One encoded packet of a random type; client or server side.</summary>
    public static byte[] Next(Random random, MqttProtocolVersion version)
    {
        var output = new ArrayBufferWriter<byte>();
        var v5 = version == MqttProtocolVersion.V500;
        switch (random.Next(14))
        {
            case 0:
                MqttEncoder.WriteConnect(output, Connect(random, version));
                break;
            case 1:
                MqttEncoder.WriteConnAck(output, new ConnAckPacket
                {
                    SessionPresent = random.Next(2) == 0,
                    ReasonCode = random.Next(3) == 0 ? ReasonCode.NotAuthorized : ReasonCode.Success,
                    SessionExpiryInterval = v5 && random.Next(2) == 0 ? (uint)random.Next() : null,
                    ReceiveMaximum = v5 && random.Next(2) == 0 ? (ushort)random.Next(1, 65536) : null,
                    MaximumPacketSize = v5 && random.Next(2) == 0 ? (uint)random.Next(1, int.MaxValue) : null,
                    AssignedClientIdentifier = v5 && random.Next(3) == 0 ? Text(random) : null,
                    TopicAliasMaximum = v5 && random.Next(2) == 0 ? (ushort)random.Next(65536) : null,
                    ReasonString = v5 && random.Next(3) == 0 ? Text(random) : null,
                    UserProperties = v5 ? Users(random) : null,
                    ServerKeepAlive = v5 && random.Next(3) == 0 ? (ushort)random.Next(65536) : null,
                    ServerReference = v5 && random.Next(4) == 0 ? Text(random) : null,
                    AuthenticationMethod = v5 && random.Next(4) == 0 ? "SCRAM-SHA-256" : null,
                    AuthenticationData = v5 && random.Next(4) == 0 ? Bytes(random, 16) : null,
                }, version);
                break;
            case 2:
            case 3:
                MqttEncoder.WritePublish(output, Publish(random, version), version);
                break;
            case 4:
                var type = (PacketType)random.Next((int)PacketType.PubAck, (int)PacketType.PubComp + 1);
                MqttEncoder.WriteAck(output, new PacketIdAck(type, (ushort)random.Next(1, 65536), v5 && random.Next(2) == 0 ? ReasonCode.PacketIdentifierNotFound : ReasonCode.Success, v5 && random.Next(3) == 0 ? Text(random) : null), version);
                break;
            case 5:
            case 6:
                MqttEncoder.WriteSubscribe(output, new SubscribePacket
                {
                    PacketId = (ushort)random.Next(1, 65536),
                    Subscriptions = [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => new TopicSubscription(Filter(random), (QualityOfService)random.Next(3), v5 && random.Next(2) == 0, v5 && random.Next(2) == 0, v5 ? (RetainHandling)random.Next(3) : RetainHandling.SendAtSubscribe))],
                    SubscriptionIdentifier = v5 && random.Next(2) == 0 ? (uint)random.Next(1, 268_435_456) : null,
                    UserProperties = v5 ? Users(random) : null,
                }, version);
                break;
            case 7:
                MqttEncoder.WriteSubAck(output, new SubAckPacket { PacketId = (ushort)random.Next(1, 65536), ReasonCodes = [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(4) == 0 ? ReasonCode.UnspecifiedError : (ReasonCode)random.Next(3))], ReasonString = v5 && random.Next(3) == 0 ? Text(random) : null }, version);
                break;
            case 8:
                MqttEncoder.WriteUnsubscribe(output, new UnsubscribePacket { PacketId = (ushort)random.Next(1, 65536), Filters = [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => Filter(random))], UserProperties = v5 ? Users(random) : null }, version);
                break;
            case 9:
                MqttEncoder.WriteUnsubAck(output, new UnsubAckPacket { PacketId = (ushort)random.Next(1, 65536), ReasonCodes = v5 ? [ReasonCode.Success, ReasonCode.NoSubscriptionExisted] : [] }, version);
                break;
            case 10:
                MqttEncoder.WritePingReq(output);
                break;
            case 11:
                MqttEncoder.WritePingResp(output);
                break;
            case 12:
                MqttEncoder.WriteDisconnect(output, new DisconnectPacket
                {
                    ReasonCode = v5 && random.Next(2) == 0 ? ReasonCode.DisconnectWithWillMessage : ReasonCode.NormalDisconnection,
                    SessionExpiryInterval = v5 && random.Next(3) == 0 ? (uint)random.Next() : null,
                    ReasonString = v5 && random.Next(3) == 0 ? Text(random) : null,
                    UserProperties = v5 ? Users(random) : null,
                }, version);
                break;
            default:
                if (v5)
                {
                    MqttEncoder.WriteAuth(output, new AuthPacket { ReasonCode = random.Next(2) == 0 ? ReasonCode.ContinueAuthentication : ReasonCode.ReAuthenticate, AuthenticationMethod = "SCRAM-SHA-256", AuthenticationData = Bytes(random, 32), ReasonString = random.Next(3) == 0 ? Text(random) : null });
                }
                else
                {
                    MqttEncoder.WritePingReq(output);
                }

                break;
        }

        return output.WrittenSpan.ToArray();
    }

    private static ConnectPacket Connect(Random random, MqttProtocolVersion version)
    {
        var v5 = version == MqttProtocolVersion.V500;
        var userName = random.Next(3) == 0 ? Text(random) : null;
        return new ConnectPacket
        {
            ProtocolVersion = version,
            ClientId = random.Next(4) == 0 ? "" : "client-" + random.Next(1000),
            CleanStart = random.Next(2) == 0,
            KeepAliveSeconds = (ushort)random.Next(65536),
            UserName = userName,

            // Before 5.0 a password needs a user name [MQTT-3.1.2-22].
            Password = random.Next(3) == 0 && (v5 || userName is not null) ? Bytes(random, 24) : null,
            Will = random.Next(3) == 0 ? new WillMessage { Topic = Topic(random), Payload = Bytes(random, 32), Qos = (QualityOfService)random.Next(3), Retain = random.Next(2) == 0, Properties = v5 ? Properties(random, will: true) : null } : null,
            SessionExpiryInterval = v5 ? (uint)random.Next() : 0,
            ReceiveMaximum = v5 ? (ushort)random.Next(1, 65536) : ushort.MaxValue,
            MaximumPacketSize = v5 && random.Next(2) == 0 ? (uint)random.Next(1, int.MaxValue) : null,
            TopicAliasMaximum = v5 ? (ushort)random.Next(100) : (ushort)0,
            RequestResponseInformation = v5 && random.Next(2) == 0,
            RequestProblemInformation = !v5 || random.Next(2) == 0,
            UserProperties = v5 ? Users(random) : null,
            AuthenticationMethod = v5 && random.Next(4) == 0 ? "SCRAM-SHA-256" : null,
            AuthenticationData = v5 && random.Next(8) == 0 ? Bytes(random, 16) : null,
        };
    }

    private static PublishPacket Publish(Random random, MqttProtocolVersion version)
    {
        var qos = (QualityOfService)random.Next(3);
        return new PublishPacket
        {
            Topic = Topic(random),
            Payload = new ReadOnlySequence<byte>(Bytes(random, random.Next(4) == 0 ? 300 : 16)),
            Qos = qos,
            Retain = random.Next(2) == 0,
            Dup = qos != QualityOfService.AtMostOnce && random.Next(3) == 0,
            PacketId = qos == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)random.Next(1, 65536),
            Properties = version == MqttProtocolVersion.V500 && random.Next(2) == 0 ? Properties(random, will: false) : null,
        };
    }

    private static PublishProperties Properties(Random random, bool will) => new()
    {
        PayloadFormatIndicator = random.Next(3) == 0 ? (byte)random.Next(2) : null,
        MessageExpiryInterval = random.Next(3) == 0 ? (uint)random.Next() : null,
        TopicAlias = !will && random.Next(3) == 0 ? (ushort)random.Next(1, 10) : null,
        ResponseTopic = random.Next(3) == 0 ? Topic(random) : null,
        CorrelationData = random.Next(3) == 0 ? Bytes(random, 8) : null,
        UserProperties = Users(random),
        SubscriptionIdentifiers = !will && random.Next(4) == 0 ? [(uint)random.Next(1, 268_435_456)] : null,
        ContentType = random.Next(3) == 0 ? "application/json" : null,
        WillDelayInterval = will && random.Next(2) == 0 ? (uint)random.Next() : null,
    };

    private static List<UserProperty>? Users(Random random) =>
        random.Next(3) == 0 ? [.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => new UserProperty(Text(random), Text(random)))] : null;

    private static string Topic(Random random) => string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Words[random.Next(Words.Length)].Replace("+", "p", StringComparison.Ordinal).Replace("#", "h", StringComparison.Ordinal))) is { Length: > 0 } topic ? topic : "t";

    private static string Filter(Random random) => string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Words[random.Next(Words.Length)])) is { Length: > 0 } filter ? filter : "#";

    private static string Text(Random random) => Words[random.Next(Words.Length)] + random.Next(100);

    private static byte[] Bytes(Random random, int max)
    {
        var bytes = new byte[random.Next(max + 1)];
        random.NextBytes(bytes);
        return bytes;
    }
}
