using System.Buffers;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>Between the wire's packets and the messages that travel through the grains.</summary>
public static class MessageMapping
{
    public static MqttMessage ToMessage(in PublishPacket packet, string topic, string publisherId) =>
        new(topic, packet.Payload.ToArray(), (byte)packet.Qos, packet.Retain, ToMessageProperties(packet.Properties), publisherId);

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

    public static PublishPacket ToPacket(Delivery delivery, MqttProtocolVersion version) => new()
    {
        Topic = delivery.Message.Topic,
        Payload = new ReadOnlySequence<byte>(delivery.Message.Payload),
        Qos = (QualityOfService)delivery.Qos,
        Retain = delivery.Retain,
        Dup = delivery.Dup,
        PacketId = delivery.PacketId,
        Properties = version == MqttProtocolVersion.V500 ? ToPublishProperties(delivery.Message.Properties, delivery.SubscriptionIds) : null,
    };

    private static PublishProperties? ToPublishProperties(MessageProperties? properties, uint[]? subscriptionIds)
    {
        if (properties is null && subscriptionIds is null)
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
            MessageExpiryInterval = properties?.MessageExpiryInterval,
            ResponseTopic = properties?.ResponseTopic,
            CorrelationData = properties?.CorrelationData,
            UserProperties = user,
            ContentType = properties?.ContentType,
            SubscriptionIdentifiers = subscriptionIds,
        };
    }
}
