namespace OrleansMqtt.Protocol;

/// <summary>
/// Which v5 reason codes each packet may carry (the tables in 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3,
/// 3.11.3, 3.14.2.1 and 3.15.2.1), and the v3 CONNACK return codes (3.1.1 table 3.1).
/// A code outside its table parses fine but is not allowed there, so it is a Protocol Error (1.2).
/// </summary>
internal static class ReasonCodes
{
    public static bool IsValidForConnAck(byte code) => code is 0x00 or 0x80 or 0x81 or 0x82 or 0x83 or 0x84 or 0x85 or 0x86
        or 0x87 or 0x88 or 0x89 or 0x8A or 0x8C or 0x90 or 0x95 or 0x97 or 0x99 or 0x9A or 0x9B or 0x9C or 0x9D or 0x9F;

    /// <summary>PUBACK (3.4.2.1) and PUBREC (3.5.2.1) share one table.</summary>
    public static bool IsValidForPubAckOrPubRec(byte code) =>
        code is 0x00 or 0x10 or 0x80 or 0x83 or 0x87 or 0x90 or 0x91 or 0x97 or 0x99;

    /// <summary>PUBREL (3.6.2.1) and PUBCOMP (3.7.2.1): Success or Packet Identifier not found.</summary>
    public static bool IsValidForPubRelOrPubComp(byte code) => code is 0x00 or 0x92;

    public static bool IsValidForSubAck(byte code) =>
        code is 0x00 or 0x01 or 0x02 or 0x80 or 0x83 or 0x87 or 0x8F or 0x91 or 0x97 or 0x9E or 0xA1 or 0xA2;

    /// <summary>3.1.1 SUBACK return codes (3.9.3): granted QoS 0 to 2, or 0x80 Failure.</summary>
    public static bool IsValidForSubAckV3(byte code) => code is 0x00 or 0x01 or 0x02 or 0x80;

    public static bool IsValidForUnsubAck(byte code) => code is 0x00 or 0x11 or 0x80 or 0x83 or 0x87 or 0x8F or 0x91;

    public static bool IsValidForDisconnect(byte code) => code is 0x00 or 0x04 or 0x80 or 0x81 or 0x82 or 0x83 or 0x87
        or 0x89 or 0x8B or 0x8D or 0x8E or 0x8F or 0x90 or 0x93 or 0x94 or 0x95 or 0x96 or 0x97 or 0x98 or 0x99 or 0x9A
        or 0x9B or 0x9C or 0x9D or 0x9E or 0x9F or 0xA0 or 0xA1 or 0xA2;

    public static bool IsValidForAuth(byte code) => code is 0x00 or 0x18 or 0x19;

    /// <summary>
    /// The 3.1.1 CONNACK return code (3.2.2.3, table 3.1) for a v5 reason code. The six codes named there map one to
    /// one; every other refusal becomes 3 "Server unavailable", the only v3 code that blames neither the client's
    /// version, identifier nor credentials.
    /// </summary>
    public static byte ToV3ConnAckReturnCode(ReasonCode code) => code switch
    {
        ReasonCode.Success => 0,
        ReasonCode.UnsupportedProtocolVersion => 1,
        ReasonCode.ClientIdentifierNotValid => 2,
        ReasonCode.BadUserNameOrPassword or ReasonCode.BadAuthenticationMethod => 4,
        ReasonCode.NotAuthorized or ReasonCode.Banned => 5,
        _ => 3,
    };

    /// <summary>The inverse of <see cref="ToV3ConnAckReturnCode"/>; return codes 6 to 255 are reserved (3.2.2.3).</summary>
    public static ReasonCode FromV3ConnAckReturnCode(byte code) => code switch
    {
        0 => ReasonCode.Success,
        1 => ReasonCode.UnsupportedProtocolVersion,
        2 => ReasonCode.ClientIdentifierNotValid,
        3 => ReasonCode.ServerUnavailable,
        4 => ReasonCode.BadUserNameOrPassword,
        5 => ReasonCode.NotAuthorized,
        _ => throw MqttErrors.ProtocolError($"CONNACK return code {code} is reserved in MQTT 3.1.1 (3.2.2.3)."),
    };

    /// <summary>The 3.1.1 SUBACK return code (3.9.3): granted QoS passes through, any failure is 0x80.</summary>
    public static byte ToV3SubAckReturnCode(ReasonCode code) => code switch
    {
        ReasonCode.GrantedQoS0 or ReasonCode.GrantedQoS1 or ReasonCode.GrantedQoS2 => (byte)code,
        _ => 0x80,
    };
}
