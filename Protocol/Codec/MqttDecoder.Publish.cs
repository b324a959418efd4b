using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttDecoder
{
    /// <summary>Where a publish property list comes from; each allows a different set (3.1.3.2, 3.3.2.3).</summary>
    private enum PublishPropertiesSource
    {
        Will,
        ClientPublish,
        ServerPublish,
    }

    private static void RememberTopic(TopicNameCache? topics, string topic, ReadOnlySequence<byte> prefixed)
    {
        if (topics is null || prefixed.Length - 2 > TopicNameCache.MaxCachedBytes)
        {
            return;
        }

        Span<byte> utf8 = stackalloc byte[TopicNameCache.MaxCachedBytes + 2];
        prefixed.CopyTo(utf8);
        topics.Remember(topic, utf8[2..(int)prefixed.Length]);
    }

    /// <summary>Decodes a PUBLISH (3.3) sent by a client. See the three-argument overload.</summary>
    public static PublishPacket DecodePublish(in MqttFrame frame, MqttProtocolVersion version) =>
        DecodePublish(frame, version, fromServer: false);

    /// <summary>
    /// Decodes PUBLISH (3.3). <see cref="PublishPacket.Payload"/> is a slice of <paramref name="frame"/>'s body, not a copy.
    /// Without v5 properties the topic string is the only allocation.
    /// <paramref name="fromServer"/> is true on the client side, where Subscription Identifiers are allowed
    /// ([MQTT-3.3.4-6] forbids them only from a client).
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// MalformedPacket for an ill-formed topic string, QoS 3, DUP on QoS 0, a bad property list;
    /// TopicNameInvalid for a topic with wildcards or disallowed code points [MQTT-3.3.2-2];
    /// ProtocolError for an empty topic without a Topic Alias, Packet Identifier 0 at QoS &gt; 0, a Subscription
    /// Identifier from a client, and property rule violations; TopicAliasInvalid for Topic Alias 0 [MQTT-3.3.2-8].
    /// </exception>
    public static PublishPacket DecodePublish(in MqttFrame frame, MqttProtocolVersion version, bool fromServer) =>
        DecodePublish(frame, version, fromServer, topics: null);

    /// <summary>
    /// Decodes a PUBLISH sent by a client, returning the same topic string as the connection's previous PUBLISH when
    /// the topic bytes are the same (see <see cref="TopicNameCache"/>): then nothing is allocated without v5 properties.
    /// </summary>
    public static PublishPacket DecodePublish(in MqttFrame frame, MqttProtocolVersion version, TopicNameCache topics) =>
        DecodePublish(frame, version, fromServer: false, topics);

    private static PublishPacket DecodePublish(in MqttFrame frame, MqttProtocolVersion version, bool fromServer, TopicNameCache? topics)
    {
        RequireType(frame, PacketType.Publish);

        // The frame reader already checked these; a hand-made frame may not have been through it.
        int qos = (frame.Flags >> 1) & 0b11;
        bool dup = (frame.Flags & 0b1000) != 0;
        if (qos == 3)
        {
            throw MqttErrors.Malformed("PUBLISH must not have both QoS bits set [MQTT-3.3.1-4].");
        }

        if (dup && qos == 0)
        {
            throw MqttErrors.Malformed("The DUP flag must be 0 for all QoS 0 messages [MQTT-3.3.1-2].");
        }

        var reader = new SequenceReader<byte>(frame.Body);
        // [MQTT-3.3.2-1]: a UTF-8 Encoded String, first in the variable header.
        var topicStart = reader.Position;
        int topicLength = reader.ReadUInt16Value();
        string topic = string.Empty;
        bool known = topics is not null && topics.TryMatch(ref reader, topicLength, out topic);
        if (!known)
        {
            reader.Rewind(2); // A miss leaves the reader just past the length; read length and string as one field.
            topic = reader.ReadMqttString();
        }

        ushort packetId = qos > 0 ? ReadPacketId(ref reader, "PUBLISH") : (ushort)0; // 3.3.2.2: only when QoS > 0.
        PublishProperties? properties = IsV5(version)
            ? ReadPublishProperties(ref reader, fromServer ? PublishPropertiesSource.ServerPublish : PublishPropertiesSource.ClientPublish)
            : null;

        if (topic.Length == 0)
        {
            // 5.0 3.3.2.3.4: "It is a Protocol Error if the Topic Name is zero length and there is no Topic Alias."
            // 3.1.1 has no aliases, and topic names "MUST be at least one character long" [MQTT-4.7.3-1].
            if (properties?.TopicAlias is null)
            {
                throw MqttErrors.ProtocolError("PUBLISH has an empty Topic Name and no Topic Alias [MQTT-4.7.3-1] (3.3.2.3.4).");
            }
        }
        else if (!known)
        {
            if (!IsAcceptableTopicName(topic))
            {
                throw new MqttProtocolException(
                    ReasonCode.TopicNameInvalid, $"The PUBLISH Topic Name '{topic}' has wildcard or disallowed characters [MQTT-3.3.2-2] (1.5.4).");
            }

            RememberTopic(topics, topic, frame.Body.Slice(topicStart, 2 + topicLength));
        }

        return new PublishPacket
        {
            Topic = topic,
            Payload = frame.Body.Slice(reader.Position), // 3.3.3: the rest of the packet; zero length is valid.
            Qos = (QualityOfService)qos,
            Retain = (frame.Flags & 0b0001) != 0,
            Dup = dup,
            PacketId = packetId,
            Properties = properties,
        };
    }

    /// <summary>
    /// A topic name as 4.7 defines it, also refusing the code points 1.5.4 calls disallowed (which it says a receiver
    /// MAY treat as malformed): control characters and non-characters have no business in a topic other clients see.
    /// </summary>
    private static bool IsAcceptableTopicName(string topic) => Topic.IsValidName(topic) && !Utf8Rules.HasDisallowedCodePoints(topic);

    /// <summary>
    /// The PUBLISH properties (3.3.2.3) or will properties (3.1.3.2). Returns null when the list is empty, so a packet
    /// without properties allocates nothing here.
    /// </summary>
    private static PublishProperties? ReadPublishProperties(ref SequenceReader<byte> reader, PublishPropertiesSource source)
    {
        var properties = new PropertyReader(ref reader, source == PublishPropertiesSource.Will ? "the will properties" : "PUBLISH");
        if (properties.IsEmpty(reader))
        {
            return null;
        }

        byte? payloadFormat = null;
        uint? messageExpiry = null;
        ushort? topicAlias = null;
        string? responseTopic = null;
        byte[]? correlationData = null;
        List<UserProperty>? userProperties = null;
        List<uint>? subscriptionIds = null;
        string? contentType = null;
        uint? willDelay = null;

        while (properties.TryReadId(ref reader, out int id))
        {
            switch (id)
            {
                case PropertyId.PayloadFormatIndicator:
                    properties.Once(id);
                    payloadFormat = properties.ReadFlag(ref reader, "Payload Format Indicator") ? (byte)1 : (byte)0; // 3.3.2.3.2
                    break;
                case PropertyId.MessageExpiryInterval:
                    properties.Once(id);
                    messageExpiry = reader.ReadUInt32Value();
                    break;
                case PropertyId.ContentType:
                    properties.Once(id);
                    contentType = reader.ReadMqttString();
                    break;
                case PropertyId.ResponseTopic:
                    properties.Once(id);
                    responseTopic = reader.ReadMqttString();
                    if (!IsAcceptableTopicName(responseTopic))
                    {
                        // [MQTT-3.3.2-13], [MQTT-3.3.2-14] (will: 3.1.3.2.6): a topic name, no wildcards. The packet parsed,
                        // the value is not allowed: Protocol Error (1.2). TopicNameInvalid is kept for the packet's own topic.
                        throw MqttErrors.ProtocolError($"The Response Topic '{responseTopic}' is not a valid topic name [MQTT-3.3.2-14].");
                    }

                    break;
                case PropertyId.CorrelationData:
                    properties.Once(id);
                    correlationData = reader.ReadBinary();
                    break;
                case PropertyId.UserProperty:
                    (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                    break;
                case PropertyId.TopicAlias when source != PublishPropertiesSource.Will:
                    properties.Once(id);
                    topicAlias = reader.ReadUInt16Value();
                    if (topicAlias == 0)
                    {
                        throw new MqttProtocolException(ReasonCode.TopicAliasInvalid, "Topic Alias 0 is not permitted [MQTT-3.3.2-8].");
                    }

                    break;
                case PropertyId.SubscriptionIdentifier when source == PublishPropertiesSource.ClientPublish:
                    throw MqttErrors.ProtocolError("A PUBLISH from a client must not contain a Subscription Identifier [MQTT-3.3.4-6].");
                case PropertyId.SubscriptionIdentifier when source == PublishPropertiesSource.ServerPublish:
                    // One per matching subscription (3.3.2.3.8), so repeats are allowed here.
                    (subscriptionIds ??= []).Add(ReadSubscriptionIdentifier(ref reader));
                    break;
                case PropertyId.WillDelayInterval when source == PublishPropertiesSource.Will:
                    properties.Once(id);
                    willDelay = reader.ReadUInt32Value();
                    break;
                default:
                    throw properties.NotValidHere(id);
            }
        }

        return new PublishProperties
        {
            PayloadFormatIndicator = payloadFormat,
            MessageExpiryInterval = messageExpiry,
            TopicAlias = topicAlias,
            ResponseTopic = responseTopic,
            CorrelationData = correlationData,
            UserProperties = userProperties,
            SubscriptionIdentifiers = subscriptionIds,
            ContentType = contentType,
            WillDelayInterval = willDelay,
        };
    }

    /// <summary>"The Subscription Identifier can have the value of 1 to 268,435,455. It is a Protocol Error if [it] has a value of 0" (3.8.2.1.2).</summary>
    private static uint ReadSubscriptionIdentifier(ref SequenceReader<byte> reader)
    {
        int value = reader.ReadVariableByteInteger();
        return value != 0 ? (uint)value : throw MqttErrors.ProtocolError("Subscription Identifier 0 is a Protocol Error (3.8.2.1.2).");
    }
}
