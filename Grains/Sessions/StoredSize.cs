using System.Text;

namespace OrleansMqtt.Grains;

/// <summary>
/// What a queued or in-flight message takes in a session's stored state, at most: its payload, topic, properties
/// and the fields around them in the Orleans binary format. An upper bound, so that a session within
/// <see cref="SessionOptions.SessionByteLimit"/> fits the record its storage holds
/// (<c>StorageFormatTests</c> holds it to the bytes written).
/// </summary>
public static class StoredSize
{
    /// <summary>The fixed fields of a message, the records around it, and its place in the session's lists.</summary>
    public const int PerMessage = 96;

    /// <summary>A field's header and its length, for a string, a byte array or a list.</summary>
    public const int PerField = 8;

    public static long Of(QueuedMessage queued)
    {
        var message = queued.Message;
        var size = PerMessage + message.Payload.Length + Text(message.Topic) + Text(message.PublisherId) + Text(queued.SharedVia);
        if (queued.SubscriptionIds is { } ids)
        {
            // A variable-length integer takes at most 5 bytes for 32 bits.
            size += PerField + (ids.Length * 5);
        }

        if (message.Properties is { } properties)
        {
            size += PerMessage + Text(properties.ResponseTopic) + Text(properties.ContentType);
            if (properties.CorrelationData is { } correlation)
            {
                size += PerField + correlation.Length;
            }

            if (properties.UserProperties is { } pairs)
            {
                size += PerField;
                foreach (var pair in pairs)
                {
                    size += PerField + Text(pair.Name) + Text(pair.Value);
                }
            }
        }

        return size;
    }

    private static int Text(string? text) => text is null ? 0 : PerField + Encoding.UTF8.GetByteCount(text);
}
