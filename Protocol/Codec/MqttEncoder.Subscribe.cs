using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttEncoder
{
    /// <summary>Writes SUBSCRIBE (3.8). v3 writes only the requested QoS of each filter.</summary>
    public static void WriteSubscribe(IBufferWriter<byte> output, SubscribePacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        RequirePacketId(packet.PacketId, "SUBSCRIBE");
        if (packet.Subscriptions.Count == 0)
        {
            throw new ArgumentException("SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3].", nameof(packet));
        }

        bool v5 = IsV5(version);
        var counter = default(PropertySizeCounter);
        if (v5)
        {
            VisitSubscribeProperties(ref counter, packet);
        }

        int remainingLength = 2 + (v5 ? WireSize.Properties(counter.Size) : 0);
        // Index loops over the IReadOnlyLists here and below: foreach would box their enumerators.
        var subscriptions = packet.Subscriptions;
        for (var i = 0; i < subscriptions.Count; i++)
        {
            var subscription = subscriptions[i];
            RequireQos(subscription.MaximumQos, "A subscription");
            remainingLength += WireSize.String(subscription.Filter) + 1;
        }

        var writer = new PacketWriter(output, FirstByte(PacketType.Subscribe, 0b0010), remainingLength); // [MQTT-3.8.1-1]
        writer.WriteUInt16(packet.PacketId);
        if (v5)
        {
            writer.WriteVariableByteInteger(counter.Size);
            VisitSubscribeProperties(ref writer, packet);
        }

        for (var i = 0; i < subscriptions.Count; i++)
        {
            var subscription = subscriptions[i];
            writer.WriteString(subscription.Filter);

            // Subscription Options (3.8.3.1): bits 0-1 QoS, 2 No Local, 3 Retain As Published, 4-5 Retain Handling.
            int options = (int)subscription.MaximumQos;
            if (v5)
            {
                options |= (subscription.NoLocal ? 0b0100 : 0)
                    | (subscription.RetainAsPublished ? 0b1000 : 0)
                    | (((int)subscription.RetainHandling & 0b11) << 4);
            }

            writer.WriteByte((byte)options);
        }

        writer.Complete();
    }

    /// <summary>Writes SUBACK (3.9). v3 writes granted QoS as is and any failure as 0x80 (3.9.3).</summary>
    public static void WriteSubAck(IBufferWriter<byte> output, SubAckPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        bool v5 = IsV5(version);
        int propertiesLength = v5 ? ReasonPropertiesLength(packet.ReasonString, packet.UserProperties) : 0;
        int remainingLength = 2 + (v5 ? WireSize.Properties(propertiesLength) : 0) + packet.ReasonCodes.Count;

        var writer = new PacketWriter(output, FirstByte(PacketType.SubAck), remainingLength);
        writer.WriteUInt16(packet.PacketId);
        if (v5)
        {
            writer.WriteVariableByteInteger(propertiesLength);
            VisitReasonProperties(ref writer, packet.ReasonString, packet.UserProperties);
        }

        var codes = packet.ReasonCodes;
        for (var i = 0; i < codes.Count; i++)
        {
            writer.WriteByte(v5 ? (byte)codes[i] : ReasonCodes.ToV3SubAckReturnCode(codes[i]));
        }

        writer.Complete();
    }

    /// <summary>Writes UNSUBSCRIBE (3.10).</summary>
    public static void WriteUnsubscribe(IBufferWriter<byte> output, UnsubscribePacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        RequirePacketId(packet.PacketId, "UNSUBSCRIBE");
        if (packet.Filters.Count == 0)
        {
            throw new ArgumentException("UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2].", nameof(packet));
        }

        bool v5 = IsV5(version);
        var counter = default(PropertySizeCounter);
        counter.UserProperties(v5 ? packet.UserProperties : null);
        int remainingLength = 2 + (v5 ? WireSize.Properties(counter.Size) : 0);
        var filters = packet.Filters;
        for (var i = 0; i < filters.Count; i++)
        {
            remainingLength += WireSize.String(filters[i]);
        }

        var writer = new PacketWriter(output, FirstByte(PacketType.Unsubscribe, 0b0010), remainingLength); // [MQTT-3.10.1-1]
        writer.WriteUInt16(packet.PacketId);
        if (v5)
        {
            writer.WriteVariableByteInteger(counter.Size);
            writer.UserProperties(packet.UserProperties);
        }

        for (var i = 0; i < filters.Count; i++)
        {
            writer.WriteString(filters[i]);
        }

        writer.Complete();
    }

    /// <summary>Writes UNSUBACK (3.11). v3 has only the Packet Identifier; v5 adds properties and one code per filter.</summary>
    public static void WriteUnsubAck(IBufferWriter<byte> output, UnsubAckPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (!IsV5(version))
        {
            var v3 = new PacketWriter(output, FirstByte(PacketType.UnsubAck), 2);
            v3.WriteUInt16(packet.PacketId);
            v3.Complete();
            return;
        }

        int propertiesLength = ReasonPropertiesLength(packet.ReasonString, packet.UserProperties);
        var writer = new PacketWriter(output, FirstByte(PacketType.UnsubAck), 2 + WireSize.Properties(propertiesLength) + packet.ReasonCodes.Count);
        writer.WriteUInt16(packet.PacketId);
        writer.WriteVariableByteInteger(propertiesLength);
        VisitReasonProperties(ref writer, packet.ReasonString, packet.UserProperties);
        var codes = packet.ReasonCodes;
        for (var i = 0; i < codes.Count; i++)
        {
            writer.WriteByte((byte)codes[i]);
        }

        writer.Complete();
    }

    /// <summary>SUBSCRIBE properties (3.8.2.1).</summary>
    private static void VisitSubscribeProperties<TSink>(ref TSink sink, SubscribePacket packet)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (packet.SubscriptionIdentifier is { } id)
        {
            sink.VariableByteInteger(PropertyId.SubscriptionIdentifier, CheckSubscriptionIdentifier(id));
        }

        sink.UserProperties(packet.UserProperties);
    }
}
