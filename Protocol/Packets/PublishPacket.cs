using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// PUBLISH (3.3). A struct: decoding one allocates nothing beyond the topic string; <see cref="Payload"/> is a slice
/// of the input buffer and is valid only until the reader advances past it.
/// </summary>
public readonly struct PublishPacket
{
    /// <summary>Empty when a v5 client sent only a topic alias; the gateway resolves it.</summary>
    public string Topic { get; init; }
    public ReadOnlySequence<byte> Payload { get; init; }
    public QualityOfService Qos { get; init; }
    public bool Retain { get; init; }
    public bool Dup { get; init; }

    /// <summary>Zero for QoS 0.</summary>
    public ushort PacketId { get; init; }

    /// <summary>v5 only; null when there are none.</summary>
    public PublishProperties? Properties { get; init; }
}
