namespace OrleansMqtt.Protocol;

/// <summary>Topic names, topic filters and matching (5.0 sections 4.7 and 4.8; 3.1.1 section 4.7).</summary>
public static class Topic
{
    /// <summary>The <see cref="PartitionKey"/> of every filter whose first level is a wildcard. '#' can never be a level of a topic name.</summary>
    public const string RootPartition = "#";

    private const string SharePrefix = "$share/";

    /// <summary>
    /// A topic name as PUBLISH may carry it: at least one character [MQTT-4.7.3-1], no wildcard characters
    /// ([MQTT-3.3.2-2]; 3.1.1 also [MQTT-4.7.1-1]), no U+0000 [MQTT-4.7.3-2], at most 65,535 bytes of well-formed
    /// UTF-8 [MQTT-4.7.3-3]. The PUBLISH decoder additionally refuses the code points 1.5.4 calls disallowed.
    /// </summary>
    public static bool IsValidName(string topic) =>
        !string.IsNullOrEmpty(topic) && topic.AsSpan().IndexOfAny('+', '#', '\0') < 0 && HasValidLength(topic);

    /// <summary>
    /// A topic filter as SUBSCRIBE may carry it: at least one character [MQTT-4.7.3-1], no U+0000 [MQTT-4.7.3-2],
    /// at most 65,535 bytes [MQTT-4.7.3-3]; '#' alone in the last level [MQTT-4.7.1-1] (3.1.1: [MQTT-4.7.1-2]); '+'
    /// alone in its level [MQTT-4.7.1-2] (3.1.1: [MQTT-4.7.1-3]). A filter starting "$share/" must be a whole shared
    /// subscription, "$share/{ShareName}/{filter}", with a non-empty ShareName free of '/', '+' and '#' followed by a
    /// valid non-empty filter [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    /// </summary>
    public static bool IsValidFilter(string filter)
    {
        if (string.IsNullOrEmpty(filter) || filter.Contains('\0') || !HasValidLength(filter))
        {
            return false;
        }

        if (!filter.StartsWith(SharePrefix, StringComparison.Ordinal))
        {
            return HasValidWildcards(filter);
        }

        ReadOnlySpan<char> rest = filter.AsSpan(SharePrefix.Length);
        int slash = rest.IndexOf('/');
        if (slash <= 0 || rest[..slash].IndexOfAny('+', '#') >= 0)
        {
            return false;
        }

        ReadOnlySpan<char> inner = rest[(slash + 1)..];
        return !inner.IsEmpty && HasValidWildcards(inner);
    }

    /// <summary>True when the filter contains '+' or '#'.</summary>
    public static bool HasWildcard(string filter) => filter.AsSpan().IndexOfAny('+', '#') >= 0;

    /// <summary>
    /// Whether <paramref name="filter"/> matches <paramref name="topic"/> under 4.7: '+' matches exactly one level, empty
    /// levels included; '#' matches its parent level and any number of child levels ("sport/#" matches "sport"); a topic
    /// starting with '$' never matches a filter starting with a wildcard [MQTT-4.7.2-1]. Levels compare exactly
    /// [MQTT-4.7.3-4]. Pass the inner filter of a shared subscription (see <see cref="IsShared"/>). Allocates nothing.
    /// </summary>
    public static bool Matches(string filter, string topic)
    {
        ReadOnlySpan<char> f = filter;
        ReadOnlySpan<char> t = topic;
        if (f.IsEmpty || t.IsEmpty)
        {
            return false;
        }

        if (t[0] == '$' && f[0] is '+' or '#')
        {
            return false;
        }

        while (true)
        {
            int filterSlash = f.IndexOf('/');
            ReadOnlySpan<char> filterLevel = filterSlash < 0 ? f : f[..filterSlash];
            if (filterLevel is "#")
            {
                return true;
            }

            int topicSlash = t.IndexOf('/');
            ReadOnlySpan<char> topicLevel = topicSlash < 0 ? t : t[..topicSlash];
            if (filterLevel is not "+" && !filterLevel.SequenceEqual(topicLevel))
            {
                return false;
            }

            if (filterSlash < 0)
            {
                // The filter ends here; so must the topic.
                return topicSlash < 0;
            }

            f = f[(filterSlash + 1)..];
            if (topicSlash < 0)
            {
                // The topic ends here; only a final "#" still matches ("sport/#" matches "sport").
                return f is "#";
            }

            t = t[(topicSlash + 1)..];
        }
    }

    /// <summary>
    /// The first level of a topic or filter, used to spread subscriptions over partitions: "sensors/+/t" gives "sensors",
    /// "/a" gives "". Filters whose first level is '+' or '#' can match any first level and give <see cref="RootPartition"/>.
    /// Pass the inner filter of a shared subscription.
    /// </summary>
    public static string PartitionKey(string filterOrTopic)
    {
        int slash = filterOrTopic.IndexOf('/');
        string first = slash < 0 ? filterOrTopic : filterOrTopic[..slash];
        return first is "+" or "#" ? RootPartition : first;
    }

    /// <summary>
    /// Splits a shared subscription "$share/{ShareName}/{filter}" (4.8.2). Returns false, with <paramref name="group"/>
    /// empty and <paramref name="innerFilter"/> the whole filter, for anything else. Checks only the shape
    /// ("$share/", a non-empty name, '/'); use <see cref="IsValidFilter"/> for the full rules.
    /// </summary>
    public static bool IsShared(string filter, out string group, out string innerFilter)
    {
        if (filter.StartsWith(SharePrefix, StringComparison.Ordinal))
        {
            int slash = filter.IndexOf('/', SharePrefix.Length);
            if (slash > SharePrefix.Length)
            {
                group = filter[SharePrefix.Length..slash];
                innerFilter = filter[(slash + 1)..];
                return true;
            }
        }

        group = string.Empty;
        innerFilter = filter;
        return false;
    }

    private static bool HasValidLength(string text) =>
        Utf8Rules.TryGetUtf8Length(text, out int length) && length <= Utf8Rules.MaxStringBytes;

    private static bool HasValidWildcards(ReadOnlySpan<char> filter)
    {
        for (int i = 0; i < filter.Length; i++)
        {
            char c = filter[i];
            bool startsLevel = i == 0 || filter[i - 1] == '/';
            bool endsLevel = i == filter.Length - 1 || filter[i + 1] == '/';
            if (c == '#' && !(startsLevel && i == filter.Length - 1))
            {
                return false;
            }

            if (c == '+' && !(startsLevel && endsLevel))
            {
                return false;
            }
        }

        return true;
    }
}
