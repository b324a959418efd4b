namespace OrleansMqtt.Protocol;

/// <summary>
/// PUBACK, PUBREC, PUBREL or PUBCOMP (3.4 to 3.7): the same shape, told apart by <see cref="Type"/>.
/// v3 carries only the packet id; v5 adds a reason code and properties, omitted on the wire when Success and none.
/// </summary>
public readonly record struct PacketIdAck(
    PacketType Type,
    ushort PacketId,
    ReasonCode ReasonCode = ReasonCode.Success,
    string? ReasonString = null,
    IReadOnlyList<UserProperty>? UserProperties = null);
