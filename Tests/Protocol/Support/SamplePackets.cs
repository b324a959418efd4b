using System.Buffers;
using System.Text;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>A packet to round-trip, the version to write it in, and whether a client (true) or server receives it.</summary>
internal sealed record Sample(string Name, MqttProtocolVersion Version, object Packet, bool ReceivedByClient = false)
{
    public override string ToString() => $"{Name} ({Version})";
}

/// <summary>
/// One sample per packet shape: for v5 every packet type with all its properties populated and with none, for 3.1.1 and
/// 3.1 every packet type the version has.
/// </summary>
internal static class SamplePackets
{
    private static readonly UserProperty[] SomeUserProperties = [new("region", "eu"), new("region", "us"), new("empty", "")];

    public static IReadOnlyList<Sample> All { get; } = [.. V5(), .. V3(MqttProtocolVersion.V311), .. V3(MqttProtocolVersion.V310)];

    public static Sample Get(string name, MqttProtocolVersion version) => All.Single(s => s.Name == name && s.Version == version);

    private static IEnumerable<Sample> V5()
    {
        const MqttProtocolVersion v = MqttProtocolVersion.V500;
        yield return new("connect-all-properties", v, new ConnectPacket
        {
            ProtocolVersion = v,
            ClientId = "client-é-1",
            CleanStart = false,
            KeepAliveSeconds = 45,
            UserName = "alice",
            Password = [1, 2, 3, 0],
            Will = new WillMessage
            {
                Topic = "clients/client-1/status",
                Payload = Encoding.UTF8.GetBytes("offline"),
                Qos = QualityOfService.AtLeastOnce,
                Retain = true,
                Properties = new PublishProperties
                {
                    PayloadFormatIndicator = 1,
                    MessageExpiryInterval = 3600,
                    ResponseTopic = "clients/client-1/reply",
                    CorrelationData = [0xCA, 0xFE],
                    UserProperties = SomeUserProperties,
                    ContentType = "text/plain",
                    WillDelayInterval = 30,
                },
            },
            SessionExpiryInterval = 86_400,
            ReceiveMaximum = 20,
            MaximumPacketSize = 1 << 20,
            TopicAliasMaximum = 10,
            RequestResponseInformation = true,
            RequestProblemInformation = false,
            UserProperties = SomeUserProperties,
            AuthenticationMethod = "SCRAM-SHA-256",
            AuthenticationData = [9, 8, 7],
        });
        yield return new("connect-no-properties", v, new ConnectPacket { ProtocolVersion = v, ClientId = "" });
        yield return new("connect-password-without-user-name", v, new ConnectPacket { ProtocolVersion = v, ClientId = "c", Password = [1] });

        yield return new("connack-all-properties", v, new ConnAckPacket
        {
            SessionPresent = true,
            ReasonCode = ReasonCode.Success,
            SessionExpiryInterval = 600,
            ReceiveMaximum = 100,
            MaximumQos = QualityOfService.AtLeastOnce,
            RetainAvailable = false,
            MaximumPacketSize = 65_536,
            AssignedClientIdentifier = "auto-123",
            TopicAliasMaximum = 16,
            ReasonString = "welcome",
            UserProperties = SomeUserProperties,
            WildcardSubscriptionAvailable = true,
            SubscriptionIdentifiersAvailable = false,
            SharedSubscriptionAvailable = true,
            ServerKeepAlive = 30,
            ResponseInformation = "responses/",
            ServerReference = "other.example:1883",
            AuthenticationMethod = "SCRAM-SHA-256",
            AuthenticationData = [1],
        }, ReceivedByClient: true);
        yield return new("connack-no-properties", v, new ConnAckPacket { ReasonCode = ReasonCode.NotAuthorized }, ReceivedByClient: true);

        yield return new("publish-all-properties", v, new PublishPacket
        {
            Topic = "sensors/42/temperature",
            Payload = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("21.5")),
            Qos = QualityOfService.ExactlyOnce,
            Retain = true,
            Dup = true,
            PacketId = 65_535,
            Properties = new PublishProperties
            {
                PayloadFormatIndicator = 0,
                MessageExpiryInterval = 0,
                TopicAlias = 7,
                ResponseTopic = "replies/42",
                CorrelationData = [],
                UserProperties = SomeUserProperties,
                SubscriptionIdentifiers = [1, 268_435_455],
                ContentType = "application/json",
            },
        }, ReceivedByClient: true);
        yield return new("publish-no-properties", v, new PublishPacket { Topic = "a", Payload = ReadOnlySequence<byte>.Empty });
        yield return new("publish-alias-only", v, new PublishPacket
        {
            Topic = "",
            Qos = QualityOfService.AtLeastOnce,
            PacketId = 1,
            Payload = new ReadOnlySequence<byte>(new byte[300]),
            Properties = new PublishProperties { TopicAlias = 7 },
        });

        foreach (PacketType type in new[] { PacketType.PubAck, PacketType.PubRec, PacketType.PubRel, PacketType.PubComp })
        {
            string name = type.ToString().ToLowerInvariant();
            ReasonCode failure = type is PacketType.PubAck or PacketType.PubRec ? ReasonCode.QuotaExceeded : ReasonCode.PacketIdentifierNotFound;
            yield return new($"{name}-all-properties", v, new PacketIdAck(type, 10, failure, "because", SomeUserProperties));
            yield return new($"{name}-success-properties", v, new PacketIdAck(type, 11, ReasonCode.Success, null, SomeUserProperties));
            yield return new($"{name}-reason-only", v, new PacketIdAck(type, 12, failure));
            yield return new($"{name}-no-properties", v, new PacketIdAck(type, 13));
        }

        yield return new("subscribe-all-properties", v, new SubscribePacket
        {
            PacketId = 5,
            SubscriptionIdentifier = 268_435_455,
            UserProperties = SomeUserProperties,
            Subscriptions =
            [
                new("sensors/+/temperature", QualityOfService.ExactlyOnce, NoLocal: true, RetainAsPublished: true, RetainHandling.DoNotSend),
                new("$share/group/sensors/#", QualityOfService.AtLeastOnce, NoLocal: false, RetainAsPublished: false, RetainHandling.SendAtSubscribeIfNew),
                new("a/#/b", QualityOfService.AtMostOnce), // Invalid, but kept for the server to refuse in SUBACK.
            ],
        });
        yield return new("subscribe-no-properties", v, new SubscribePacket { PacketId = 6, Subscriptions = [new("#", QualityOfService.AtMostOnce)] });

        yield return new("suback-all-properties", v, new SubAckPacket
        {
            PacketId = 5,
            ReasonCodes = [ReasonCode.GrantedQoS2, ReasonCode.GrantedQoS1, ReasonCode.TopicFilterInvalid, ReasonCode.SharedSubscriptionsNotSupported],
            ReasonString = "partly",
            UserProperties = SomeUserProperties,
        }, ReceivedByClient: true);
        yield return new("suback-no-properties", v, new SubAckPacket { PacketId = 6, ReasonCodes = [ReasonCode.GrantedQoS0] }, ReceivedByClient: true);

        yield return new("unsubscribe-all-properties", v, new UnsubscribePacket { PacketId = 7, Filters = ["a/b", "c/+", "#"], UserProperties = SomeUserProperties });
        yield return new("unsubscribe-no-properties", v, new UnsubscribePacket { PacketId = 8, Filters = ["a"] });

        yield return new("unsuback-all-properties", v, new UnsubAckPacket
        {
            PacketId = 7,
            ReasonCodes = [ReasonCode.Success, ReasonCode.NoSubscriptionExisted, ReasonCode.TopicFilterInvalid],
            ReasonString = "done",
            UserProperties = SomeUserProperties,
        }, ReceivedByClient: true);
        yield return new("unsuback-no-properties", v, new UnsubAckPacket { PacketId = 8, ReasonCodes = [ReasonCode.Success] }, ReceivedByClient: true);

        yield return new("pingreq", v, new PingPacket(PacketType.PingReq));
        yield return new("pingresp", v, new PingPacket(PacketType.PingResp), ReceivedByClient: true);

        yield return new("disconnect-all-properties", v, new DisconnectPacket
        {
            ReasonCode = ReasonCode.DisconnectWithWillMessage,
            SessionExpiryInterval = 0,
            ReasonString = "bye",
            ServerReference = "other.example",
            UserProperties = SomeUserProperties,
        });
        yield return new("disconnect-reason-only", v, new DisconnectPacket { ReasonCode = ReasonCode.ServerShuttingDown });
        yield return new("disconnect-no-properties", v, new DisconnectPacket());

        yield return new("auth-all-properties", v, new AuthPacket
        {
            ReasonCode = ReasonCode.ContinueAuthentication,
            AuthenticationMethod = "SCRAM-SHA-256",
            AuthenticationData = [1, 2, 3],
            ReasonString = "next step",
            UserProperties = SomeUserProperties,
        });
        yield return new("auth-method-only", v, new AuthPacket { AuthenticationMethod = "SCRAM-SHA-256" });
    }

    private static IEnumerable<Sample> V3(MqttProtocolVersion v)
    {
        yield return new("connect-will-user-password", v, new ConnectPacket
        {
            ProtocolVersion = v,
            ClientId = "client-1",
            CleanStart = false,
            KeepAliveSeconds = 65_535,
            UserName = "bob",
            Password = Encoding.UTF8.GetBytes("secret"),
            Will = new WillMessage { Topic = "status/client-1", Payload = Encoding.UTF8.GetBytes("gone"), Qos = QualityOfService.ExactlyOnce, Retain = true },
        });
        yield return new("connect-minimal", v, new ConnectPacket { ProtocolVersion = v, ClientId = "c" });
        yield return new("connect-user-name-only", v, new ConnectPacket { ProtocolVersion = v, ClientId = "c", UserName = "u", CleanStart = true });

        yield return new("connack-accepted", v, new ConnAckPacket { SessionPresent = true, ReasonCode = ReasonCode.Success }, ReceivedByClient: true);
        foreach (ReasonCode refusal in new[]
        {
            ReasonCode.UnsupportedProtocolVersion, ReasonCode.ClientIdentifierNotValid, ReasonCode.ServerUnavailable,
            ReasonCode.BadUserNameOrPassword, ReasonCode.NotAuthorized,
        })
        {
            yield return new($"connack-{refusal}", v, new ConnAckPacket { ReasonCode = refusal }, ReceivedByClient: true);
        }

        yield return new("publish-qos0", v, new PublishPacket { Topic = "a/b", Payload = new ReadOnlySequence<byte>([1, 2, 3]) });
        yield return new("publish-qos1-retain", v, new PublishPacket
        {
            Topic = "/leading/slash/",
            Payload = ReadOnlySequence<byte>.Empty,
            Qos = QualityOfService.AtLeastOnce,
            Retain = true,
            PacketId = 1,
        });
        yield return new("publish-qos2-dup", v, new PublishPacket
        {
            Topic = "ünïcödé/𝄞",
            Payload = new ReadOnlySequence<byte>(new byte[20_000]),
            Qos = QualityOfService.ExactlyOnce,
            Dup = true,
            PacketId = 40_000,
        });

        foreach (PacketType type in new[] { PacketType.PubAck, PacketType.PubRec, PacketType.PubRel, PacketType.PubComp })
        {
            yield return new(type.ToString().ToLowerInvariant(), v, new PacketIdAck(type, 300));
        }

        yield return new("subscribe", v, new SubscribePacket
        {
            PacketId = 2,
            Subscriptions = [new("a/+/c", QualityOfService.AtMostOnce), new("d/#", QualityOfService.AtLeastOnce), new("e", QualityOfService.ExactlyOnce)],
        });
        yield return new("suback", v, new SubAckPacket
        {
            PacketId = 2,
            ReasonCodes = [ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.UnspecifiedError],
        }, ReceivedByClient: true);
        yield return new("unsubscribe", v, new UnsubscribePacket { PacketId = 3, Filters = ["a/+/c", "d/#"] });
        yield return new("unsuback", v, new UnsubAckPacket { PacketId = 3 }, ReceivedByClient: true);
        yield return new("pingreq", v, new PingPacket(PacketType.PingReq));
        yield return new("pingresp", v, new PingPacket(PacketType.PingResp), ReceivedByClient: true);
        yield return new("disconnect", v, new DisconnectPacket());
    }
}
