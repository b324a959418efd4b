using System.Buffers;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>Between the wire's packets and the messages that travel through the grains.</summary>
public static class MessageMapping
{
    /// <summary>A PUBLISH from a client; a Message Expiry Interval starts now (3.3.2.3.3).</summary>
    public static MqttMessage ToMessage(in PublishPacket packet, string topic, string publisherId) =>
        new(topic, packet.Payload.ToArray(), (byte)packet.Qos, packet.Retain, ToMessageProperties(packet.Properties), publisherId,
            packet.Properties?.MessageExpiryInterval is { } seconds ? DateTime.UtcNow.AddSeconds(seconds) : null, PublishedAtTicks: DateTime.UtcNow.Ticks);

    /// <summary>A will: its Message Expiry Interval starts when it is published, which the session does (3.1.3.2.4).</summary>
    public static MqttMessage ToMessage(WillMessage will, string publisherId) =>
        new(will.Topic, will.Payload.ToArray(), (byte)will.Qos, will.Retain, ToMessageProperties(will.Properties), publisherId);

    /// <summary>The properties forwarded with a message; Topic Alias and Subscription Identifier are per connection.</summary>
    public static MessageProperties? ToMessageProperties(PublishProperties? properties)
    {
        if (properties is null)
        {
            return null;
        }

        if (properties.PayloadFormatIndicator is null && properties.MessageExpiryInterval is null && properties.ResponseTopic is null &&
            properties.CorrelationData is null && properties.UserProperties is not { Count: > 0 } && properties.ContentType is null)
        {
            return null;
        }

        UserPropertyPair[]? user = null;
        if (properties.UserProperties is { Count: > 0 } list)
        {
            user = new UserPropertyPair[list.Count];
            for (var i = 0; i < list.Count; i++)
            {
                user[i] = new UserPropertyPair(list[i].Name, list[i].Value);
            }
        }

        return new MessageProperties(
            properties.PayloadFormatIndicator,
            properties.MessageExpiryInterval,
            properties.ResponseTopic,
            properties.CorrelationData,
            user,
            properties.ContentType);
    }

    /// <summary>
    /// The PUBLISH for a delivery. v5: a message with an expiry carries what is left of it [MQTT-3.3.2-6]; with a
    /// topic alias the topic is sent only when the alias is new (3.3.2.3.4).
    /// </summary>
    public static PublishPacket ToPacket(Delivery delivery, MqttProtocolVersion version, DateTime nowUtc, ushort topicAlias = 0, bool aliasKnown = false)
    {
        var message = delivery.Message;
        PublishProperties? properties = null;
        if (version == MqttProtocolVersion.V500)
        {
            uint? remaining = message.ExpiresAtUtc is { } expires ? (uint)Math.Max(1, Math.Ceiling((expires - nowUtc).TotalSeconds)) : null;
            properties = ToPublishProperties(message.Properties, delivery.SubscriptionIds, remaining, topicAlias);
        }

        return new PublishPacket
        {
            Topic = aliasKnown ? "" : message.Topic,
            Payload = new ReadOnlySequence<byte>(message.Payload),
            Qos = (QualityOfService)delivery.Qos,
            Retain = delivery.Retain,
            Dup = delivery.Dup,
            PacketId = delivery.PacketId,
            Properties = properties,
        };
    }

    private static PublishProperties? ToPublishProperties(MessageProperties? properties, uint[]? subscriptionIds, uint? expiry, ushort topicAlias)
    {
        if (properties is null && subscriptionIds is null && expiry is null && topicAlias == 0)
        {
            return null;
        }

        UserProperty[]? user = null;
        if (properties?.UserProperties is { Length: > 0 } pairs)
        {
            user = new UserProperty[pairs.Length];
            for (var i = 0; i < pairs.Length; i++)
            {
                user[i] = new UserProperty(pairs[i].Name, pairs[i].Value);
            }
        }

        return new PublishProperties
        {
            PayloadFormatIndicator = properties?.PayloadFormatIndicator,
            MessageExpiryInterval = expiry ?? properties?.MessageExpiryInterval,
            ResponseTopic = properties?.ResponseTopic,
            CorrelationData = properties?.CorrelationData,
            UserProperties = user,
            ContentType = properties?.ContentType,
            SubscriptionIdentifiers = subscriptionIds,
            TopicAlias = topicAlias == 0 ? null : topicAlias,
        };
    }
}
