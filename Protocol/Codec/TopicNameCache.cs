using System.Buffers;

namespace OrleansMqtt.Protocol;

/// <summary>
/// The topic name of the last PUBLISH decoded on one connection. A device nearly always publishes to the same topic,
/// so when the next PUBLISH carries the same bytes the decoder returns the same string instead of allocating and
/// validating a new one. Not thread-safe: one per connection, used by its read loop.
/// </summary>
public sealed class TopicNameCache
{
    /// <summary>Longer topics are decoded every time; they are rare and would keep a large buffer per connection.</summary>
    public const int MaxCachedBytes = 256;

    private byte[]? _utf8;
    private int _length;
    private string? _topic;

    /// <summary>True, with the cached string, when the next <paramref name="length"/> unread bytes are the cached topic's.</summary>
    internal bool TryMatch(ref SequenceReader<byte> reader, int length, out string topic)
    {
        topic = _topic!;
        if (_topic is null || length != _length)
        {
            return false;
        }

        var unread = reader.UnreadSpan;
        if (unread.Length < length || !unread[..length].SequenceEqual(_utf8.AsSpan(0, length)))
        {
            return false;
        }

        reader.Advance(length);
        return true;
    }

    /// <summary>Remembers a topic that was decoded and found valid.</summary>
    internal void Remember(string topic, ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedBytes || utf8.IsEmpty)
        {
            return;
        }

        _utf8 ??= new byte[MaxCachedBytes];
        utf8.CopyTo(_utf8);
        _length = utf8.Length;
        _topic = topic;
    }
}
