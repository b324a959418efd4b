using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// Writes whole packets (fixed header, Remaining Length, variable header, payload) into an
/// <see cref="IBufferWriter{T}"/>. Each method first computes the Remaining Length, then writes straight into the
/// output's spans: no intermediate buffer and no allocation. v5-only fields are dropped when writing v3.
/// A packet the encoder cannot represent (a string over 65,535 bytes, QoS &gt; 0 with Packet Identifier 0, ...)
/// throws <see cref="ArgumentException"/> before anything is written.
/// </summary>
public static partial class MqttEncoder
{
    private static bool IsV5(MqttProtocolVersion version) => version == MqttProtocolVersion.V500;

    private static byte FirstByte(PacketType type, int flags = 0) => (byte)(((int)type << 4) | flags);

    private static void RequirePacketId(ushort packetId, string packet)
    {
        if (packetId == 0)
        {
            throw new ArgumentException($"{packet} needs a non-zero Packet Identifier [MQTT-2.2.1-3].");
        }
    }

    private static void RequireQos(QualityOfService qos, string what)
    {
        if ((byte)qos > 2)
        {
            throw new ArgumentException($"{what} must be QoS 0, 1 or 2, not {(byte)qos}.");
        }
    }

    /// <summary>Reason String and User Property: the only properties of the acks, SUBACK and UNSUBACK.</summary>
    private static void VisitReasonProperties<TSink>(ref TSink sink, string? reasonString, IReadOnlyList<UserProperty>? userProperties)
        where TSink : struct, IPropertySink, allows ref struct
    {
        sink.OptionalString(PropertyId.ReasonString, reasonString);
        sink.UserProperties(userProperties);
    }

    private static int ReasonPropertiesLength(string? reasonString, IReadOnlyList<UserProperty>? userProperties)
    {
        var counter = default(PropertySizeCounter);
        VisitReasonProperties(ref counter, reasonString, userProperties);
        return counter.Size;
    }
}
