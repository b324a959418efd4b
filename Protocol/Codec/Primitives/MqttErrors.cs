namespace OrleansMqtt.Protocol;

/// <summary>
/// Builds the exceptions the decoders throw. Section 1.2 of MQTT 5.0 draws the line used throughout:
/// a Malformed Packet "cannot be parsed according to this specification"; a Protocol Error is found
/// "after the packet has been parsed" and carries data the protocol does not allow.
/// </summary>
internal static class MqttErrors
{
    public static MqttProtocolException Malformed(string message) => new(ReasonCode.MalformedPacket, message);

    public static MqttProtocolException ProtocolError(string message) => new(ReasonCode.ProtocolError, message);

    public static MqttProtocolException Truncated() => Malformed("The packet ends inside a field.");

    public static MqttProtocolException TrailingBytes(string packet) =>
        Malformed($"{packet} has bytes after its last field; the Remaining Length must cover exactly the fields.");

    public static MqttProtocolException ZeroPacketId(string packet) =>
        ProtocolError($"{packet} has Packet Identifier 0; it must be non-zero [MQTT-2.2.1-3] (3.1.1: [MQTT-2.3.1-1]).");
}
