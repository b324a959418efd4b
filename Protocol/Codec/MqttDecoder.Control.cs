using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttDecoder
{
    /// <summary>
    /// Decodes DISCONNECT (3.14). v3: the body must be empty. v5: Remaining Length 0 means Normal disconnection,
    /// 1 a reason code alone ("If the Remaining Length is less than 2, a value of 0 is used" for the Property Length,
    /// 3.14.2.2.1), more a reason code and properties.
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// MalformedPacket for a non-empty v3 body or a property not valid in DISCONNECT; ProtocolError for a reason code
    /// outside table 3.14.2.1 or a repeated property.
    /// </exception>
    public static DisconnectPacket DecodeDisconnect(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.Disconnect);
        var reader = new SequenceReader<byte>(frame.Body);
        if (!IsV5(version) || reader.End)
        {
            // 3.1.1 3.14.2, 3.14.3: "The DISCONNECT Packet has no variable header" and "no payload".
            reader.EnsureEnd("DISCONNECT");
            return DisconnectPacket.Normal;
        }

        byte code = reader.ReadByteValue();
        if (!ReasonCodes.IsValidForDisconnect(code))
        {
            throw MqttErrors.ProtocolError($"Reason code 0x{code:X2} is not valid in DISCONNECT (3.14.2.1).");
        }

        uint? sessionExpiry = null;
        string? reasonString = null;
        string? serverReference = null;
        List<UserProperty>? userProperties = null;
        if (!reader.End)
        {
            var properties = new PropertyReader(ref reader, "DISCONNECT");
            while (properties.TryReadId(ref reader, out int id))
            {
                switch (id)
                {
                    case PropertyId.SessionExpiryInterval:
                        properties.Once(id);
                        sessionExpiry = reader.ReadUInt32Value();
                        break;
                    case PropertyId.ReasonString:
                        properties.Once(id);
                        reasonString = reader.ReadMqttString();
                        break;
                    case PropertyId.ServerReference:
                        properties.Once(id);
                        serverReference = reader.ReadMqttString();
                        break;
                    case PropertyId.UserProperty:
                        (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                        break;
                    default:
                        throw properties.NotValidHere(id);
                }
            }
        }

        reader.EnsureEnd("DISCONNECT");
        return new DisconnectPacket
        {
            ReasonCode = (ReasonCode)code,
            SessionExpiryInterval = sessionExpiry,
            ReasonString = reasonString,
            ServerReference = serverReference,
            UserProperties = userProperties,
        };
    }

    /// <summary>
    /// Decodes AUTH (3.15), which exists only in v5. A body of one byte (reason code, no Property Length) is accepted
    /// like DISCONNECT's; but an AUTH without Authentication Method is refused, because "It is a Protocol Error to omit
    /// the Authentication Method" (3.15.2.2.2), which includes the Remaining Length 0 form.
    /// </summary>
    /// <exception cref="MqttProtocolException">
    /// MalformedPacket for any AUTH in v3 (type 15 is "Reserved" there, 3.1.1 2.2.1) or a property not valid in AUTH;
    /// ProtocolError for a reason code other than 0x00, 0x18, 0x19, a missing Authentication Method or a repeated property.
    /// </exception>
    public static AuthPacket DecodeAuth(in MqttFrame frame, MqttProtocolVersion version)
    {
        RequireType(frame, PacketType.Auth);
        if (!IsV5(version))
        {
            throw MqttErrors.Malformed("AUTH does not exist before MQTT 5; packet type 15 is reserved (3.1.1 2.2.1).");
        }

        var reader = new SequenceReader<byte>(frame.Body);
        byte code = reader.End ? (byte)0 : reader.ReadByteValue();
        if (!ReasonCodes.IsValidForAuth(code))
        {
            throw MqttErrors.ProtocolError($"Reason code 0x{code:X2} is not valid in AUTH (3.15.2.1).");
        }

        string? method = null;
        byte[]? data = null;
        string? reasonString = null;
        List<UserProperty>? userProperties = null;
        if (!reader.End)
        {
            var properties = new PropertyReader(ref reader, "AUTH");
            while (properties.TryReadId(ref reader, out int id))
            {
                if (id != PropertyId.UserProperty)
                {
                    properties.Once(id);
                }

                switch (id)
                {
                    case PropertyId.AuthenticationMethod:
                        method = reader.ReadMqttString();
                        break;
                    case PropertyId.AuthenticationData:
                        data = reader.ReadBinary();
                        break;
                    case PropertyId.ReasonString:
                        reasonString = reader.ReadMqttString();
                        break;
                    case PropertyId.UserProperty:
                        (userProperties ??= []).Add(PropertyReader.ReadUserProperty(ref reader));
                        break;
                    default:
                        throw properties.NotValidHere(id);
                }
            }
        }

        reader.EnsureEnd("AUTH");
        if (method is null)
        {
            throw MqttErrors.ProtocolError("AUTH must carry an Authentication Method (3.15.2.2.2).");
        }

        return new AuthPacket
        {
            ReasonCode = (ReasonCode)code,
            AuthenticationMethod = method,
            AuthenticationData = data,
            ReasonString = reasonString,
            UserProperties = userProperties,
        };
    }

    /// <summary>Checks PINGREQ or PINGRESP: they have no variable header and no payload (3.12, 3.13).</summary>
    /// <exception cref="MqttProtocolException">MalformedPacket when the body is not empty.</exception>
    public static void ValidatePing(in MqttFrame frame)
    {
        RequireType(frame, PacketType.PingReq, PacketType.PingResp);
        if (!frame.Body.IsEmpty)
        {
            throw MqttErrors.TrailingBytes(frame.Type.ToString().ToUpperInvariant());
        }
    }
}
