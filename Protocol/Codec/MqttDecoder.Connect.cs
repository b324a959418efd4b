using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttDecoder
{
    private const byte ReservedConnectFlag = 0x01;
    private const byte CleanStartFlag = 0x02;
    private const byte WillFlag = 0x04;
    private const byte WillRetainFlag = 0x20;
    private const byte PasswordFlag = 0x40;
    private const byte UserNameFlag = 0x80;

    /// <summary>
    /// Decodes CONNECT (3.1) of MQTT 3.1 ("MQIsdp", level 3), 3.1.1 ("MQTT", 4) or 5.0 ("MQTT", 5).
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// UnsupportedProtocolVersion when the name is known but the level is not its level, so the server can answer
    /// CONNACK 0x01 (v3) or 0x84 (v5) [MQTT-3.1.2-2]; MalformedPacket for an unknown protocol name [MQTT-3.1.2-1],
    /// bad connect flags, ill-formed strings or leftover bytes; ProtocolError for property rules;
    /// TopicNameInvalid for a will topic that is not a valid topic name.
    /// </exception>
    public static ConnectPacket DecodeConnect(in MqttFrame frame)
    {
        RequireType(frame, PacketType.Connect);
        var reader = new SequenceReader<byte>(frame.Body);

        MqttProtocolVersion version = ReadProtocolNameAndLevel(ref reader);
        bool v5 = IsV5(version);

        byte flags = reader.ReadByteValue();
        if ((flags & ReservedConnectFlag) != 0)
        {
            throw MqttErrors.Malformed("The reserved Connect Flag is set [MQTT-3.1.2-3].");
        }

        bool hasWill = (flags & WillFlag) != 0;
        var willQos = (QualityOfService)((flags >> 3) & 0b11);
        bool willRetain = (flags & WillRetainFlag) != 0;
        bool hasPassword = (flags & PasswordFlag) != 0;
        bool hasUserName = (flags & UserNameFlag) != 0;
        if (!hasWill && willQos != QualityOfService.AtMostOnce)
        {
            // 3.1.1: [MQTT-3.1.2-11], [MQTT-3.1.2-13]; 5.0: [MQTT-3.1.2-11].
            throw MqttErrors.Malformed("Will QoS must be 0 when the Will Flag is 0 [MQTT-3.1.2-11].");
        }

        if ((int)willQos == 3)
        {
            // 3.1.1: [MQTT-3.1.2-14]; 5.0: [MQTT-3.1.2-12] "A value of 3 (0x03) is a Malformed Packet".
            throw MqttErrors.Malformed("Will QoS must not be 3 [MQTT-3.1.2-12].");
        }

        if (!hasWill && willRetain)
        {
            // 3.1.1: [MQTT-3.1.2-15]; 5.0: [MQTT-3.1.2-13].
            throw MqttErrors.Malformed("Will Retain must be 0 when the Will Flag is 0 [MQTT-3.1.2-13].");
        }

        if (!v5 && hasPassword && !hasUserName)
        {
            // 3.1.1 [MQTT-3.1.2-22]; 5.0 dropped this rule (3.1.2.9: "allows the sending of a Password with no User Name").
            throw MqttErrors.Malformed("A password without a user name is not allowed before MQTT 5 [MQTT-3.1.2-22].");
        }

        ushort keepAlive = reader.ReadUInt16Value();
        var properties = v5 ? ReadConnectProperties(ref reader) : default;

        // Payload order (3.1.3): Client Identifier, Will Properties, Will Topic, Will Payload, User Name, Password.
        string clientId = reader.ReadMqttString(); // [MQTT-3.1.3-3], [MQTT-3.1.3-4]; may be empty, the server decides.
        WillMessage? will = null;
        if (hasWill)
        {
            // [MQTT-3.1.2-9]: with the Will Flag set, the will fields MUST be present.
            PublishProperties? willProperties = v5 ? ReadPublishProperties(ref reader, PublishPropertiesSource.Will) : null;
            string willTopic = reader.ReadMqttString();
            if (!IsAcceptableTopicName(willTopic))
            {
                // The Will Topic is a topic name (3.1.3.3), so 4.7's rules apply: at least one character [MQTT-4.7.3-1],
                // no wildcards (3.1.1: [MQTT-4.7.1-1]; 5.0: 4.7.1). 5.0's CONNACK 0x90 is for exactly this ("The Will Topic Name is not malformed,
                // but is not accepted by this Server").
                throw new MqttProtocolException(ReasonCode.TopicNameInvalid, $"The Will Topic '{willTopic}' is not a valid topic name (4.7).");
            }

            byte[] willPayload = reader.ReadBinary(); // 3.1.3.4: Binary Data.
            will = new WillMessage { Topic = willTopic, Payload = willPayload, Qos = willQos, Retain = willRetain, Properties = willProperties };
        }

        string? userName = hasUserName ? reader.ReadMqttString() : null; // Present exactly when flagged (3.1.2.8, 3.1.3.5).
        byte[]? password = hasPassword ? reader.ReadBinary() : null; // Likewise (3.1.2.9, 3.1.3.6): Binary Data.
        reader.EnsureEnd("CONNECT");

        return new ConnectPacket
        {
            ProtocolVersion = version,
            ClientId = clientId,
            CleanStart = (flags & CleanStartFlag) != 0,
            KeepAliveSeconds = keepAlive,
            UserName = userName,
            Password = password,
            Will = will,
            SessionExpiryInterval = properties.SessionExpiryInterval,
            ReceiveMaximum = properties.ReceiveMaximum ?? ushort.MaxValue, // 3.1.2.11.3: absent means 65,535.
            MaximumPacketSize = properties.MaximumPacketSize,
            TopicAliasMaximum = properties.TopicAliasMaximum,
            RequestResponseInformation = properties.RequestResponseInformation ?? false, // 3.1.2.11.6: absent means 0.
            RequestProblemInformation = properties.RequestProblemInformation ?? true, // 3.1.2.11.7: absent means 1.
            UserProperties = properties.UserProperties,
            AuthenticationMethod = properties.AuthenticationMethod,
            AuthenticationData = properties.AuthenticationData,
        };
    }

    /// <summary>
    /// Protocol Name (3.1.2.1) and Protocol Level (3.1.2.2). The name is compared as bytes so that an unknown one
    /// costs no allocation.
    /// </summary>
    private static MqttProtocolVersion ReadProtocolNameAndLevel(ref SequenceReader<byte> reader)
    {
        int nameLength = reader.ReadUInt16Value();
        bool isMqtt = nameLength == 4 && reader.IsNext("MQTT"u8, advancePast: true);
        bool isMqisdp = !isMqtt && nameLength == 6 && reader.IsNext("MQIsdp"u8, advancePast: true);
        if (!isMqtt && !isMqisdp)
        {
            // [MQTT-3.1.2-1]: the server MAY disconnect; it must not treat the packet as MQTT.
            throw MqttErrors.Malformed("The CONNECT protocol name is neither 'MQTT' nor 'MQIsdp' [MQTT-3.1.2-1].");
        }

        byte level = reader.ReadByteValue();
        return (isMqtt, level) switch
        {
            (true, 4) => MqttProtocolVersion.V311,
            (true, 5) => MqttProtocolVersion.V500,
            (false, 3) => MqttProtocolVersion.V310,
            _ => throw new MqttProtocolException(
                ReasonCode.UnsupportedProtocolVersion,
                $"Protocol level {level} is not supported with protocol name '{(isMqtt ? "MQTT" : "MQIsdp")}' [MQTT-3.1.2-2]."),
        };
    }

    private static ConnectProperties ReadConnectProperties(ref SequenceReader<byte> reader)
    {
        var result = default(ConnectProperties);
        var properties = new PropertyReader(ref reader, "CONNECT");
        while (properties.TryReadId(ref reader, out int id))
        {
            // 3.1.2.11: each property but User Property "is a Protocol Error to include ... more than once".
            if (id != PropertyId.UserProperty)
            {
                properties.Once(id);
            }

            switch (id)
            {
                case PropertyId.SessionExpiryInterval:
                    result.SessionExpiryInterval = reader.ReadUInt32Value();
                    break;
                case PropertyId.ReceiveMaximum:
                    result.ReceiveMaximum = properties.ReadNonZeroUInt16(ref reader, "Receive Maximum"); // 3.1.2.11.3
                    break;
                case PropertyId.MaximumPacketSize:
                    result.MaximumPacketSize = properties.ReadNonZeroUInt32(ref reader, "Maximum Packet Size"); // 3.1.2.11.4
                    break;
                case PropertyId.TopicAliasMaximum:
                    result.TopicAliasMaximum = reader.ReadUInt16Value();
                    break;
                case PropertyId.RequestResponseInformation:
                    result.RequestResponseInformation = properties.ReadFlag(ref reader, "Request Response Information"); // 3.1.2.11.6
                    break;
                case PropertyId.RequestProblemInformation:
                    result.RequestProblemInformation = properties.ReadFlag(ref reader, "Request Problem Information"); // 3.1.2.11.7
                    break;
                case PropertyId.UserProperty:
                    (result.UserProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                    break;
                case PropertyId.AuthenticationMethod:
                    result.AuthenticationMethod = reader.ReadMqttString();
                    break;
                case PropertyId.AuthenticationData:
                    result.AuthenticationData = reader.ReadBinary();
                    break;
                default:
                    throw properties.NotValidHere(id);
            }
        }

        if (result.AuthenticationData is not null && result.AuthenticationMethod is null)
        {
            throw MqttErrors.ProtocolError("CONNECT has Authentication Data without an Authentication Method (3.1.2.11.10).");
        }

        return result;
    }

    private struct ConnectProperties
    {
        public uint SessionExpiryInterval;
        public ushort? ReceiveMaximum;
        public uint? MaximumPacketSize;
        public ushort TopicAliasMaximum;
        public bool? RequestResponseInformation;
        public bool? RequestProblemInformation;
        public List<UserProperty>? UserProperties;
        public string? AuthenticationMethod;
        public byte[]? AuthenticationData;
    }
}
