using System.Buffers;

namespace OrleansMqtt.Protocol;

public static partial class MqttEncoder
{
    /// <summary>Writes PINGREQ (3.12): two bytes.</summary>
    public static void WritePingReq(IBufferWriter<byte> output) => WriteEmpty(output, PacketType.PingReq);

    /// <summary>Writes PINGRESP (3.13): two bytes.</summary>
    public static void WritePingResp(IBufferWriter<byte> output) => WriteEmpty(output, PacketType.PingResp);

    /// <summary>
    /// Writes DISCONNECT (3.14). v3: no variable header. v5: Remaining Length 0 for Normal disconnection without
    /// properties, the reason code alone when there are no properties, else reason code and properties (3.14.2.1).
    /// </summary>
    public static void WriteDisconnect(IBufferWriter<byte> output, DisconnectPacket packet, MqttProtocolVersion version)
    {
        ArgumentNullException.ThrowIfNull(packet);
        var counter = default(PropertySizeCounter);
        VisitDisconnectProperties(ref counter, packet);
        if (!IsV5(version) || (packet.ReasonCode == ReasonCode.NormalDisconnection && counter.Size == 0))
        {
            WriteEmpty(output, PacketType.Disconnect);
            return;
        }

        var writer = new PacketWriter(output, FirstByte(PacketType.Disconnect), ReasonAndPropertiesLength(counter.Size));
        writer.WriteByte((byte)packet.ReasonCode);
        if (counter.Size > 0)
        {
            writer.WriteVariableByteInteger(counter.Size);
            VisitDisconnectProperties(ref writer, packet);
        }

        writer.Complete();
    }

    /// <summary>
    /// Writes AUTH (3.15), v5 only. Remaining Length 0 when the code is Success and there are no properties (3.15.2.1),
    /// though a receiver requires an Authentication Method (3.15.2.2.2).
    /// </summary>
    public static void WriteAuth(IBufferWriter<byte> output, AuthPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        var counter = default(PropertySizeCounter);
        VisitAuthProperties(ref counter, packet);
        if (packet.ReasonCode == ReasonCode.Success && counter.Size == 0)
        {
            WriteEmpty(output, PacketType.Auth);
            return;
        }

        var writer = new PacketWriter(output, FirstByte(PacketType.Auth), ReasonAndPropertiesLength(counter.Size));
        writer.WriteByte((byte)packet.ReasonCode);
        if (counter.Size > 0)
        {
            writer.WriteVariableByteInteger(counter.Size);
            VisitAuthProperties(ref writer, packet);
        }

        writer.Complete();
    }

    private static void WriteEmpty(IBufferWriter<byte> output, PacketType type)
    {
        var writer = new PacketWriter(output, FirstByte(type), 0);
        writer.Complete();
    }

    /// <summary>A reason code, then the property list only if it is not empty.</summary>
    private static int ReasonAndPropertiesLength(int propertiesLength) =>
        1 + (propertiesLength > 0 ? WireSize.Properties(propertiesLength) : 0);

    /// <summary>DISCONNECT properties (3.14.2.2).</summary>
    private static void VisitDisconnectProperties<TSink>(ref TSink sink, DisconnectPacket packet)
        where TSink : struct, IPropertySink, allows ref struct
    {
        sink.OptionalUInt32(PropertyId.SessionExpiryInterval, packet.SessionExpiryInterval);
        sink.OptionalString(PropertyId.ReasonString, packet.ReasonString);
        sink.UserProperties(packet.UserProperties);
        sink.OptionalString(PropertyId.ServerReference, packet.ServerReference);
    }

    /// <summary>AUTH properties (3.15.2.2).</summary>
    private static void VisitAuthProperties<TSink>(ref TSink sink, AuthPacket packet)
        where TSink : struct, IPropertySink, allows ref struct
    {
        sink.OptionalString(PropertyId.AuthenticationMethod, packet.AuthenticationMethod);
        sink.OptionalBinary(PropertyId.AuthenticationData, packet.AuthenticationData);
        sink.OptionalString(PropertyId.ReasonString, packet.ReasonString);
        sink.UserProperties(packet.UserProperties);
    }
}
