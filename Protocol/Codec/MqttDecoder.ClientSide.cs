using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>Packets only a server sends: decoded by clients (tests, the benchmark client).</summary>
public static partial class MqttDecoder
{
    /// <summary>Decodes CONNACK (3.2). v3 return codes become reason codes as documented on <see cref="ConnAckPacket"/>.</summary>
    /// <exception cref="MqttProtocolException">
    /// MalformedPacket for reserved acknowledge flags [MQTT-3.2.2-1], a wrong v3 length or a bad property list;
    /// ProtocolError for a reserved or disallowed code, Session Present with a failure ([MQTT-3.2.2-6]; 3.1.1 [MQTT-3.2.2-4])
    /// or a property value the spec forbids.
    /// </exception>
    public static ConnAckPacket DecodeConnAck(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.ConnAck);
        var reader = new SequenceReader<byte>(frame.Body);
        byte acknowledgeFlags = reader.ReadByteValue();
        if ((acknowledgeFlags & 0b1111_1110) != 0)
        {
            throw MqttErrors.Malformed("CONNACK Acknowledge Flags bits 7-1 are reserved and must be 0 [MQTT-3.2.2-1].");
        }

        bool sessionPresent = acknowledgeFlags == 1;
        byte code = reader.ReadByteValue();
        ReasonCode reasonCode;
        if (IsV5(version))
        {
            reasonCode = ReasonCodes.IsValidForConnAck(code)
                ? (ReasonCode)code
                : throw MqttErrors.ProtocolError($"Reason code 0x{code:X2} is not valid in CONNACK (3.2.2.2).");
        }
        else
        {
            reasonCode = ReasonCodes.FromV3ConnAckReturnCode(code);
        }

        if (sessionPresent && reasonCode != ReasonCode.Success)
        {
            throw MqttErrors.ProtocolError("A refusing CONNACK must have Session Present 0 [MQTT-3.2.2-6].");
        }

        if (!IsV5(version))
        {
            reader.EnsureEnd("CONNACK"); // 3.1.1 3.2.1: Remaining Length 2.
            return new ConnAckPacket { SessionPresent = sessionPresent, ReasonCode = reasonCode };
        }

        var p = new ConnAckProperties();
        var properties = new PropertyReader(ref reader, "CONNACK");
        while (properties.TryReadId(ref reader, out int id))
        {
            if (id != PropertyId.UserProperty)
            {
                properties.Once(id);
            }

            switch (id)
            {
                case PropertyId.SessionExpiryInterval: p.SessionExpiryInterval = reader.ReadUInt32Value(); break;
                case PropertyId.ReceiveMaximum: p.ReceiveMaximum = properties.ReadNonZeroUInt16(ref reader, "Receive Maximum"); break;
                case PropertyId.MaximumQos:
                    // 3.2.2.3.4: "a Protocol Error to include Maximum QoS more than once, or to have a value other than 0 or 1".
                    p.MaximumQos = properties.ReadFlag(ref reader, "Maximum QoS") ? QualityOfService.AtLeastOnce : QualityOfService.AtMostOnce;
                    break;
                case PropertyId.RetainAvailable: p.RetainAvailable = properties.ReadFlag(ref reader, "Retain Available"); break;
                case PropertyId.MaximumPacketSize: p.MaximumPacketSize = properties.ReadNonZeroUInt32(ref reader, "Maximum Packet Size"); break;
                case PropertyId.AssignedClientIdentifier: p.AssignedClientIdentifier = reader.ReadMqttString(); break;
                case PropertyId.TopicAliasMaximum: p.TopicAliasMaximum = reader.ReadUInt16Value(); break;
                case PropertyId.ReasonString: p.ReasonString = reader.ReadMqttString(); break;
                case PropertyId.UserProperty: (p.UserProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader)); break;
                case PropertyId.WildcardSubscriptionAvailable:
                    p.WildcardSubscriptionAvailable = properties.ReadFlag(ref reader, "Wildcard Subscription Available");
                    break;
                case PropertyId.SubscriptionIdentifierAvailable:
                    p.SubscriptionIdentifiersAvailable = properties.ReadFlag(ref reader, "Subscription Identifiers Available");
                    break;
                case PropertyId.SharedSubscriptionAvailable:
                    p.SharedSubscriptionAvailable = properties.ReadFlag(ref reader, "Shared Subscription Available");
                    break;
                case PropertyId.ServerKeepAlive: p.ServerKeepAlive = reader.ReadUInt16Value(); break;
                case PropertyId.ResponseInformation: p.ResponseInformation = reader.ReadMqttString(); break;
                case PropertyId.ServerReference: p.ServerReference = reader.ReadMqttString(); break;
                case PropertyId.AuthenticationMethod: p.AuthenticationMethod = reader.ReadMqttString(); break;
                case PropertyId.AuthenticationData: p.AuthenticationData = reader.ReadBinary(); break;
                default: throw properties.NotValidHere(id);
            }
        }

        reader.EnsureEnd("CONNACK");
        if (p.AuthenticationData is not null && p.AuthenticationMethod is null)
        {
            throw MqttErrors.ProtocolError("CONNACK has Authentication Data without an Authentication Method (3.2.2.3.18).");
        }

        return new ConnAckPacket
        {
            SessionPresent = sessionPresent,
            ReasonCode = reasonCode,
            SessionExpiryInterval = p.SessionExpiryInterval,
            ReceiveMaximum = p.ReceiveMaximum,
            MaximumQos = p.MaximumQos,
            RetainAvailable = p.RetainAvailable,
            MaximumPacketSize = p.MaximumPacketSize,
            AssignedClientIdentifier = p.AssignedClientIdentifier,
            TopicAliasMaximum = p.TopicAliasMaximum,
            ReasonString = p.ReasonString,
            UserProperties = p.UserProperties,
            WildcardSubscriptionAvailable = p.WildcardSubscriptionAvailable,
            SubscriptionIdentifiersAvailable = p.SubscriptionIdentifiersAvailable,
            SharedSubscriptionAvailable = p.SharedSubscriptionAvailable,
            ServerKeepAlive = p.ServerKeepAlive,
            ResponseInformation = p.ResponseInformation,
            ServerReference = p.ServerReference,
            AuthenticationMethod = p.AuthenticationMethod,
            AuthenticationData = p.AuthenticationData,
        };
    }

    /// <summary>Decodes SUBACK (3.9): one return code per filter of the SUBSCRIBE.</summary>
    /// <exception cref="MqttProtocolException">
    /// ProtocolError for Packet Identifier 0, no codes, or a code outside the version's table (3.9.3).
    /// </exception>
    public static SubAckPacket DecodeSubAck(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.SubAck);
        bool v5 = IsV5(version);
        var reader = new SequenceReader<byte>(frame.Body);
        ushort packetId = ReadPacketId(ref reader, "SUBACK");
        string? reasonString = null;
        List<UserProperty>? userProperties = null;
        if (v5)
        {
            ReadReasonProperties(ref reader, "SUBACK", out reasonString, out userProperties);
        }

        var codes = ReadReasonCodeList(ref reader, "SUBACK", v5 ? ReasonCodes.IsValidForSubAck : ReasonCodes.IsValidForSubAckV3);
        return new SubAckPacket { PacketId = packetId, ReasonCodes = codes, ReasonString = reasonString, UserProperties = userProperties };
    }

    /// <summary>Decodes UNSUBACK (3.11). v3: only the Packet Identifier. v5: properties and one reason code per filter.</summary>
    /// <exception cref="MqttProtocolException">
    /// ProtocolError for Packet Identifier 0, no codes (v5) or a code outside table 3.11.3; MalformedPacket for extra bytes in v3.
    /// </exception>
    public static UnsubAckPacket DecodeUnsubAck(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.UnsubAck);
        var reader = new SequenceReader<byte>(frame.Body);
        ushort packetId = ReadPacketId(ref reader, "UNSUBACK");
        if (!IsV5(version))
        {
            reader.EnsureEnd("UNSUBACK"); // 3.1.1 3.11.3: "The UNSUBACK Packet has no payload."
            return new UnsubAckPacket { PacketId = packetId };
        }

        ReadReasonProperties(ref reader, "UNSUBACK", out string? reasonString, out List<UserProperty>? userProperties);
        var codes = ReadReasonCodeList(ref reader, "UNSUBACK", ReasonCodes.IsValidForUnsubAck);
        return new UnsubAckPacket { PacketId = packetId, ReasonCodes = codes, ReasonString = reasonString, UserProperties = userProperties };
    }

    private static List<ReasonCode> ReadReasonCodeList(ref SequenceReader<byte> reader, string packet, Func<byte, bool> isValid)
    {
        var codes = new List<ReasonCode>((int)reader.Remaining);
        while (reader.TryRead(out byte code))
        {
            codes.Add(isValid(code) ? (ReasonCode)code : throw MqttErrors.ProtocolError($"Code 0x{code:X2} is not valid in {packet}."));
        }

        // One code per filter of the request (3.9.3, 3.11.3), and a request has at least one filter.
        return codes.Count > 0 ? codes : throw MqttErrors.ProtocolError($"{packet} carries no reason codes.");
    }

    private struct ConnAckProperties
    {
        public uint? SessionExpiryInterval;
        public ushort? ReceiveMaximum;
        public QualityOfService? MaximumQos;
        public bool? RetainAvailable;
        public uint? MaximumPacketSize;
        public string? AssignedClientIdentifier;
        public ushort? TopicAliasMaximum;
        public string? ReasonString;
        public List<UserProperty>? UserProperties;
        public bool? WildcardSubscriptionAvailable;
        public bool? SubscriptionIdentifiersAvailable;
        public bool? SharedSubscriptionAvailable;
        public ushort? ServerKeepAlive;
        public string? ResponseInformation;
        public string? ServerReference;
        public string? AuthenticationMethod;
        public byte[]? AuthenticationData;
    }
}
