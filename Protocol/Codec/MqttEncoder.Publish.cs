using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttEncoder
{
    /// <summary>
    /// Writes PUBLISH (3.3). DUP is written only for QoS &gt; 0 ([MQTT-3.3.1-2]: it "MUST be set to 0 for all QoS 0
    /// messages"), so a message downgraded to QoS 0 on delivery cannot break that rule. v3 drops the properties;
    /// v5 writes every property of <see cref="PublishProperties"/> except Will Delay Interval, which exists only in a will.
    /// </summary>
    public static void WritePublish(IBufferWriter<byte> output, in PublishPacket packet, MqttProtocolVersion version)
    {
        int remainingLength = PublishRemainingLength(packet, version, out int propertiesLength);
        int flags = ((int)packet.Qos << 1) | (packet.Retain ? 1 : 0) | (packet.Dup && packet.Qos != QualityOfService.AtMostOnce ? 0b1000 : 0);

        var writer = new PacketWriter(output, FirstByte(PacketType.Publish, flags), remainingLength);
        writer.WriteString(packet.Topic ?? string.Empty);
        if (packet.Qos != QualityOfService.AtMostOnce)
        {
            writer.WriteUInt16(packet.PacketId);
        }

        if (IsV5(version))
        {
            writer.WriteVariableByteInteger(propertiesLength);
            VisitPublishProperties(ref writer, packet.Properties, forWill: false);
        }

        writer.WriteRaw(packet.Payload);
        writer.Complete();
    }

    /// <summary>
    /// The number of bytes <see cref="WritePublish"/> would write, to honour a client's Maximum Packet Size
    /// (3.1.2.11.4) before writing.
    /// </summary>
    public static int GetPublishSize(in PublishPacket packet, MqttProtocolVersion version) =>
        WireSize.Packet(PublishRemainingLength(packet, version, out _));

    /// <summary>
    /// Writes PUBACK, PUBREC, PUBREL or PUBCOMP (3.4 to 3.7), by <see cref="PacketIdAck.Type"/>. v5 omits the reason
    /// code and Property Length when the code is Success and there are no properties (Remaining Length 2), and the
    /// Property Length alone when there are no properties (Remaining Length 3), as 3.4.2.1 allows.
    /// </summary>
    public static void WriteAck(IBufferWriter<byte> output, in PacketIdAck packet, MqttProtocolVersion version)
    {
        if (packet.Type is not (PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp))
        {
            throw new ArgumentException($"{packet.Type} is not PUBACK, PUBREC, PUBREL or PUBCOMP.", nameof(packet));
        }

        RequirePacketId(packet.PacketId, PacketNames.Of(packet.Type));

        // PUBREL's fixed header flags are 0010 [MQTT-3.6.1-1].
        byte firstByte = FirstByte(packet.Type, packet.Type == PacketType.PubRel ? 0b0010 : 0);
        int propertiesLength = IsV5(version) ? ReasonPropertiesLength(packet.ReasonString, packet.UserProperties) : 0;
        bool writeReason = IsV5(version) && (packet.ReasonCode != ReasonCode.Success || propertiesLength > 0);
        int remainingLength = 2 + (writeReason ? 1 : 0) + (propertiesLength > 0 ? WireSize.Properties(propertiesLength) : 0);

        var writer = new PacketWriter(output, firstByte, remainingLength);
        writer.WriteUInt16(packet.PacketId);
        if (writeReason)
        {
            writer.WriteByte((byte)packet.ReasonCode);
        }

        if (propertiesLength > 0)
        {
            writer.WriteVariableByteInteger(propertiesLength);
            VisitReasonProperties(ref writer, packet.ReasonString, packet.UserProperties);
        }

        writer.Complete();
    }

    private static int PublishRemainingLength(in PublishPacket packet, MqttProtocolVersion version, out int propertiesLength)
    {
        RequireQos(packet.Qos, "PUBLISH");
        if (packet.Qos != QualityOfService.AtMostOnce)
        {
            RequirePacketId(packet.PacketId, "PUBLISH at QoS > 0");
        }

        propertiesLength = 0;
        long remainingLength = WireSize.String(packet.Topic ?? string.Empty)
            + (packet.Qos != QualityOfService.AtMostOnce ? 2 : 0)
            + packet.Payload.Length;
        if (IsV5(version))
        {
            var counter = default(PropertySizeCounter);
            VisitPublishProperties(ref counter, packet.Properties, forWill: false);
            propertiesLength = counter.Size;
            remainingLength += WireSize.Properties(propertiesLength);
        }

        return remainingLength <= VariableByteInteger.MaxValue
            ? (int)remainingLength
            : throw new ArgumentException($"A PUBLISH of {remainingLength} bytes exceeds the largest Remaining Length, {VariableByteInteger.MaxValue}.");
    }

    /// <summary>
    /// PUBLISH properties (3.3.2.3) or will properties (3.1.3.2). Topic Alias and Subscription Identifier are not will
    /// properties and Will Delay Interval is not a PUBLISH property, so each is skipped where it does not belong.
    /// </summary>
    private static void VisitPublishProperties<TSink>(ref TSink sink, PublishProperties? properties, bool forWill)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (properties is null)
        {
            return;
        }

        if (properties.PayloadFormatIndicator is { } payloadFormat)
        {
            sink.Byte(PropertyId.PayloadFormatIndicator, payloadFormat);
        }

        sink.OptionalUInt32(PropertyId.MessageExpiryInterval, properties.MessageExpiryInterval);
        if (forWill)
        {
            sink.OptionalUInt32(PropertyId.WillDelayInterval, properties.WillDelayInterval);
        }
        else
        {
            sink.OptionalUInt16(PropertyId.TopicAlias, properties.TopicAlias);
        }

        sink.OptionalString(PropertyId.ResponseTopic, properties.ResponseTopic);
        sink.OptionalBinary(PropertyId.CorrelationData, properties.CorrelationData);
        sink.UserProperties(properties.UserProperties);
        if (!forWill && properties.SubscriptionIdentifiers is { } subscriptionIds)
        {
            for (int i = 0; i < subscriptionIds.Count; i++)
            {
                sink.VariableByteInteger(PropertyId.SubscriptionIdentifier, CheckSubscriptionIdentifier(subscriptionIds[i]));
            }
        }

        sink.OptionalString(PropertyId.ContentType, properties.ContentType);
    }

    private static int CheckSubscriptionIdentifier(uint value) =>
        value is >= 1 and <= VariableByteInteger.MaxValue
            ? (int)value
            : throw new ArgumentException($"A Subscription Identifier is 1 to 268,435,455, not {value} (3.8.2.1.2).");
}
