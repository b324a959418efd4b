using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttEncoder
{
    /// <summary>Writes CONNECT (3.1) in the packet's own <see cref="ConnectPacket.ProtocolVersion"/>.</summary>
    public static void WriteConnect(IBufferWriter<byte> output, ConnectPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        MqttProtocolVersion version = packet.ProtocolVersion;
        bool v5 = IsV5(version);
        ReadOnlySpan<byte> protocolName = version switch
        {
            MqttProtocolVersion.V310 => "MQIsdp"u8,
            MqttProtocolVersion.V311 or MqttProtocolVersion.V500 => "MQTT"u8,
            _ => throw new ArgumentException($"Unknown protocol version {version}.", nameof(packet)),
        };

        if (!v5 && packet.Password is not null && packet.UserName is null)
        {
            throw new ArgumentException("Before MQTT 5 a password needs a user name [MQTT-3.1.2-22].", nameof(packet));
        }

        WillMessage? will = packet.Will;
        int propertiesLength = 0;
        int willPropertiesLength = 0;
        int remainingLength = 2 + protocolName.Length + 1 + 1 + 2 + WireSize.String(packet.ClientId);
        if (v5)
        {
            var counter = default(PropertySizeCounter);
            VisitConnectProperties(ref counter, packet);
            propertiesLength = counter.Size;
            remainingLength += WireSize.Properties(propertiesLength);
        }

        if (will is not null)
        {
            RequireQos(will.Qos, "The will");
            if (v5)
            {
                var counter = default(PropertySizeCounter);
                VisitPublishProperties(ref counter, will.Properties, forWill: true);
                willPropertiesLength = counter.Size;
                remainingLength += WireSize.Properties(willPropertiesLength);
            }

            remainingLength += WireSize.String(will.Topic) + WireSize.Binary(will.Payload.Length);
        }

        remainingLength += (packet.UserName is null ? 0 : WireSize.String(packet.UserName))
            + (packet.Password is null ? 0 : WireSize.Binary(packet.Password.Length));

        // Connect Flags (3.1.2.3): User Name, Password, Will Retain, Will QoS (2 bits), Will Flag, Clean Start, Reserved (0).
        int flags = (packet.UserName is null ? 0 : 0x80)
            | (packet.Password is null ? 0 : 0x40)
            | (packet.CleanStart ? 0x02 : 0);
        if (will is not null)
        {
            flags |= (will.Retain ? 0x20 : 0) | ((int)will.Qos << 3) | 0x04;
        }

        var writer = new PacketWriter(output, FirstByte(PacketType.Connect), remainingLength);
        writer.WriteUInt16((ushort)protocolName.Length);
        writer.WriteRaw(protocolName);
        writer.WriteByte((byte)version);
        writer.WriteByte((byte)flags);
        writer.WriteUInt16(packet.KeepAliveSeconds);
        if (v5)
        {
            writer.WriteVariableByteInteger(propertiesLength);
            VisitConnectProperties(ref writer, packet);
        }

        writer.WriteString(packet.ClientId);
        if (will is not null)
        {
            if (v5)
            {
                writer.WriteVariableByteInteger(willPropertiesLength);
                VisitPublishProperties(ref writer, will.Properties, forWill: true);
            }

            writer.WriteString(will.Topic);
            writer.WriteBinary(will.Payload.Span);
        }

        if (packet.UserName is not null)
        {
            writer.WriteString(packet.UserName);
        }

        if (packet.Password is not null)
        {
            writer.WriteBinary(packet.Password);
        }

        writer.Complete();
    }

    /// <summary>
    /// Writes CONNACK (3.2). v3: the reason code becomes a return code (0 accepted, 1 unacceptable protocol version,
    /// 2 identifier rejected, 3 server unavailable, 4 bad user name or password, 5 not authorized; any other refusal
    /// becomes 3) and properties are dropped. Session Present is written only on success ([MQTT-3.2.2-6]; 3.1.1 [MQTT-3.2.2-4]).
    /// </summary>
    public static void WriteConnAck(IBufferWriter<byte> output, ConnAckPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        byte acknowledgeFlags = packet.SessionPresent && packet.ReasonCode == ReasonCode.Success ? (byte)1 : (byte)0;
        if (!IsV5(version))
        {
            var v3 = new PacketWriter(output, FirstByte(PacketType.ConnAck), 2);
            v3.WriteByte(acknowledgeFlags);
            v3.WriteByte(ReasonCodes.ToV3ConnAckReturnCode(packet.ReasonCode));
            v3.Complete();
            return;
        }

        var counter = default(PropertySizeCounter);
        VisitConnAckProperties(ref counter, packet);
        var writer = new PacketWriter(output, FirstByte(PacketType.ConnAck), 2 + WireSize.Properties(counter.Size));
        writer.WriteByte(acknowledgeFlags);
        writer.WriteByte((byte)packet.ReasonCode);
        writer.WriteVariableByteInteger(counter.Size);
        VisitConnAckProperties(ref writer, packet);
        writer.Complete();
    }

    /// <summary>
    /// CONNECT properties (3.1.2.11). A property is written only when it differs from what its absence means, so a
    /// decoded packet compares equal to the one encoded.
    /// </summary>
    private static void VisitConnectProperties<TSink>(ref TSink sink, ConnectPacket packet)
        where TSink : struct, IPropertySink, allows ref struct
    {
        if (packet.SessionExpiryInterval != 0)
        {
            sink.UInt32(PropertyId.SessionExpiryInterval, packet.SessionExpiryInterval);
        }

        if (packet.ReceiveMaximum != ushort.MaxValue)
        {
            sink.UInt16(PropertyId.ReceiveMaximum, packet.ReceiveMaximum);
        }

        sink.OptionalUInt32(PropertyId.MaximumPacketSize, packet.MaximumPacketSize);
        if (packet.TopicAliasMaximum != 0)
        {
            sink.UInt16(PropertyId.TopicAliasMaximum, packet.TopicAliasMaximum);
        }

        if (packet.RequestResponseInformation)
        {
            sink.Byte(PropertyId.RequestResponseInformation, 1);
        }

        if (!packet.RequestProblemInformation)
        {
            sink.Byte(PropertyId.RequestProblemInformation, 0);
        }

        sink.UserProperties(packet.UserProperties);
        sink.OptionalString(PropertyId.AuthenticationMethod, packet.AuthenticationMethod);
        sink.OptionalBinary(PropertyId.AuthenticationData, packet.AuthenticationData);
    }

    /// <summary>CONNACK properties (3.2.2.3).</summary>
    private static void VisitConnAckProperties<TSink>(ref TSink sink, ConnAckPacket packet)
        where TSink : struct, IPropertySink, allows ref struct
    {
        sink.OptionalUInt32(PropertyId.SessionExpiryInterval, packet.SessionExpiryInterval);
        sink.OptionalUInt16(PropertyId.ReceiveMaximum, packet.ReceiveMaximum);
        if (packet.MaximumQos is { } maximumQos)
        {
            sink.Byte(PropertyId.MaximumQos, (byte)maximumQos);
        }

        sink.OptionalFlag(PropertyId.RetainAvailable, packet.RetainAvailable);
        sink.OptionalUInt32(PropertyId.MaximumPacketSize, packet.MaximumPacketSize);
        sink.OptionalString(PropertyId.AssignedClientIdentifier, packet.AssignedClientIdentifier);
        sink.OptionalUInt16(PropertyId.TopicAliasMaximum, packet.TopicAliasMaximum);
        sink.OptionalString(PropertyId.ReasonString, packet.ReasonString);
        sink.UserProperties(packet.UserProperties);
        sink.OptionalFlag(PropertyId.WildcardSubscriptionAvailable, packet.WildcardSubscriptionAvailable);
        sink.OptionalFlag(PropertyId.SubscriptionIdentifierAvailable, packet.SubscriptionIdentifiersAvailable);
        sink.OptionalFlag(PropertyId.SharedSubscriptionAvailable, packet.SharedSubscriptionAvailable);
        sink.OptionalUInt16(PropertyId.ServerKeepAlive, packet.ServerKeepAlive);
        sink.OptionalString(PropertyId.ResponseInformation, packet.ResponseInformation);
        sink.OptionalString(PropertyId.ServerReference, packet.ServerReference);
        sink.OptionalString(PropertyId.AuthenticationMethod, packet.AuthenticationMethod);
        sink.OptionalBinary(PropertyId.AuthenticationData, packet.AuthenticationData);
    }
}
