using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttDecoder
{
    /// <summary>
    /// Decodes SUBSCRIBE (3.8).
    /// <para>
    /// A topic filter that is a well-formed UTF-8 string but not a valid filter (say "a/#/b", "a+", "" or "$share/g") does
    /// not throw: it stays in <see cref="SubscribePacket.Subscriptions"/> so the server can refuse just that filter in
    /// SUBACK, with 0x8F Topic Filter invalid (v5) or 0x80 Failure (v3), and accept the rest. Check each filter with
    /// <see cref="Topic.IsValidFilter"/>. An ill-formed string is different: it throws MalformedPacket [MQTT-1.5.4-1].
    /// </para>
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// ProtocolError for Packet Identifier 0, no filters [MQTT-3.8.3-3] (5.0: [MQTT-3.8.3-2]), v5 Maximum QoS 3 or
    /// Retain Handling 3 (3.8.3.1), No Local on a shared subscription [MQTT-3.8.3-4], Subscription Identifier 0 or twice;
    /// MalformedPacket for reserved option bits, v3 QoS 3 [MQTT-3-8.3-4], or a property other than Subscription Identifier
    /// and User Property.
    /// </exception>
    public static SubscribePacket DecodeSubscribe(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.Subscribe);
        bool v5 = IsV5(version);
        var reader = new SequenceReader<byte>(frame.Body);
        ushort packetId = ReadPacketId(ref reader, "SUBSCRIBE");

        uint? subscriptionId = null;
        List<UserProperty>? userProperties = null;
        if (v5)
        {
            var properties = new PropertyReader(ref reader, "SUBSCRIBE");
            while (properties.TryReadId(ref reader, out int id))
            {
                switch (id)
                {
                    case PropertyId.SubscriptionIdentifier:
                        properties.Once(id); // 3.8.2.1.2: "a Protocol Error to include the Subscription Identifier more than once".
                        subscriptionId = ReadSubscriptionIdentifier(ref reader);
                        break;
                    case PropertyId.UserProperty:
                        (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                        break;
                    default:
                        throw properties.NotValidHere(id);
                }
            }
        }

        var subscriptions = new List<TopicSubscription>();
        while (!reader.End)
        {
            string filter = reader.ReadMqttString(); // [MQTT-3.8.3-1]: a UTF-8 Encoded String.
            byte options = reader.ReadByteValue();
            subscriptions.Add(v5 ? ParseOptionsV5(filter, options) : ParseOptionsV3(filter, options));
        }

        if (subscriptions.Count == 0)
        {
            throw MqttErrors.ProtocolError("SUBSCRIBE must contain at least one topic filter (5.0: [MQTT-3.8.3-2]; 3.1.1: [MQTT-3.8.3-3]).");
        }

        return new SubscribePacket
        {
            PacketId = packetId,
            Subscriptions = subscriptions,
            SubscriptionIdentifier = subscriptionId,
            UserProperties = userProperties,
        };
    }

    /// <summary>3.1.1 Requested QoS byte (3.8.3.1): bits 7-2 reserved, QoS 0 to 2.</summary>
    private static TopicSubscription ParseOptionsV3(string filter, byte options)
    {
        // [MQTT-3-8.3-4]: "The Server MUST treat a SUBSCRIBE packet as malformed ... if any of Reserved bits in the
        // payload are non-zero, or QoS is not 0,1 or 2."
        if ((options & 0b1111_1100) != 0)
        {
            throw MqttErrors.Malformed("The reserved bits of a SUBSCRIBE Requested QoS byte are set [MQTT-3-8.3-4].");
        }

        if (options == 3)
        {
            throw MqttErrors.Malformed("SUBSCRIBE requests QoS 3 [MQTT-3-8.3-4].");
        }

        return new TopicSubscription(filter, (QualityOfService)options);
    }

    /// <summary>5.0 Subscription Options (3.8.3.1).</summary>
    private static TopicSubscription ParseOptionsV5(string filter, byte options)
    {
        if ((options & 0b1100_0000) != 0)
        {
            throw MqttErrors.Malformed("The reserved bits 6-7 of the Subscription Options are set [MQTT-3.8.3-5].");
        }

        int qos = options & 0b11;
        bool noLocal = (options & 0b0100) != 0;
        bool retainAsPublished = (options & 0b1000) != 0;
        int retainHandling = (options >> 4) & 0b11;
        if (qos == 3)
        {
            throw MqttErrors.ProtocolError("\"It is a Protocol Error if the Maximum QoS field has the value 3\" (3.8.3.1).");
        }

        if (retainHandling == 3)
        {
            throw MqttErrors.ProtocolError("\"It is a Protocol Error to send a Retain Handling value of 3\" (3.8.3.1).");
        }

        if (noLocal && Topic.IsShared(filter, out _, out _))
        {
            throw MqttErrors.ProtocolError("No Local must not be set on a Shared Subscription [MQTT-3.8.3-4].");
        }

        return new TopicSubscription(filter, (QualityOfService)qos, noLocal, retainAsPublished, (RetainHandling)retainHandling);
    }

    /// <summary>
    /// Decodes UNSUBSCRIBE (3.10). As with SUBSCRIBE, a well-formed string that is not a valid filter is kept; the
    /// server answers it (v5: 0x8F or 0x11 No subscription existed).
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// ProtocolError for Packet Identifier 0 or no filters [MQTT-3.10.3-2]; MalformedPacket for an ill-formed string or a
    /// property other than User Property (3.10.2.1).
    /// </exception>
    public static UnsubscribePacket DecodeUnsubscribe(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.Unsubscribe);
        var reader = new SequenceReader<byte>(frame.Body);
        ushort packetId = ReadPacketId(ref reader, "UNSUBSCRIBE");

        List<UserProperty>? userProperties = null;
        if (IsV5(version))
        {
            var properties = new PropertyReader(ref reader, "UNSUBSCRIBE");
            while (properties.TryReadId(ref reader, out int id))
            {
                if (id != PropertyId.UserProperty)
                {
                    throw properties.NotValidHere(id);
                }

                (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
            }
        }

        var filters = new List<string>();
        while (!reader.End)
        {
            filters.Add(reader.ReadMqttString()); // [MQTT-3.10.3-1]
        }

        if (filters.Count == 0)
        {
            throw MqttErrors.ProtocolError("UNSUBSCRIBE must contain at least one topic filter [MQTT-3.10.3-2].");
        }

        return new UnsubscribePacket { PacketId = packetId, Filters = filters, UserProperties = userProperties };
    }
}
