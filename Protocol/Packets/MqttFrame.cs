using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>One whole control packet as framed by <see cref="MqttFrameReader"/>: fixed header split out, body sliced.</summary>
public readonly struct MqttFrame(PacketType type, byte flags, ReadOnlySequence<byte> body)
{
    public PacketType Type { get; } = type;

    /// <summary>The low nibble of the first byte.</summary>
    public byte Flags { get; } = flags;

    /// <summary>Variable header and payload: exactly Remaining Length bytes.</summary>
    public ReadOnlySequence<byte> Body { get; } = body;
}
