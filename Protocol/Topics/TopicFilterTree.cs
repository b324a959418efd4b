namespace OrleansMqtt.Protocol;

/// <summary>
/// A trie of topic filters, one node per level, with the '+' and '#' children kept apart from the literal ones. Matching
/// a topic visits at most the nodes its levels can reach, so the cost grows with the number of levels and matches,
/// not with the number of filters. Literal children are found through a span lookup, so matching allocates nothing
/// beyond the results. Not thread-safe: an Orleans grain owns one and uses it from its own turn.
/// </summary>
/// <remarks>
/// Filters are stored literally: add the inner filter of a shared subscription (see <see cref="Topic.IsShared"/>),
/// since "$share/g/a" as such is a filter that matches only the topic "$share/g/a".
/// </remarks>
public sealed class TopicFilterTree<TValue>
{
    private readonly Node _root = new(null, string.Empty);

    /// <summary>The number of (filter, value) pairs.</summary>
    public int Count { get; private set; }

    /// <summary>Every (filter, value) pair, in no particular order.</summary>
    public IEnumerable<(string Filter, TValue Value)> Entries => Enumerate(_root);

    /// <summary>Adds <paramref name="value"/> under <paramref name="filter"/>; a filter may hold several values, and the same value twice.</summary>
    /// <exception cref="ArgumentException">The filter is not valid (<see cref="Topic.IsValidFilter"/>).</exception>
    public void Add(string filter, TValue value)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (!Topic.IsValidFilter(filter))
        {
            throw new ArgumentException($"'{filter}' is not a valid topic filter.", nameof(filter));
        }

        Node node = _root;
        int start = 0;
        while (true)
        {
            int slash = filter.IndexOf('/', start);
            int end = slash < 0 ? filter.Length : slash;
            node = node.GetOrAddChild(filter.AsSpan(start, end - start));
            if (slash < 0)
            {
                break;
            }

            start = slash + 1;
        }

        node.Filter ??= filter;
        (node.Values ??= new List<TValue>(1)).Add(value);
        Count++;
    }

    /// <summary>
    /// Removes one occurrence of <paramref name="value"/> (by <see cref="EqualityComparer{T}.Default"/>) from
    /// <paramref name="filter"/>, and any nodes left empty. Returns false when the pair was not there.
    /// </summary>
    public bool Remove(string filter, TValue value)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Node? node = _root;
        int start = 0;
        while (node is not null)
        {
            int slash = filter.IndexOf('/', start);
            int end = slash < 0 ? filter.Length : slash;
            node = node.FindChild(filter.AsSpan(start, end - start));
            if (slash < 0)
            {
                break;
            }

            start = slash + 1;
        }

        if (node?.Values is null || !node.Values.Remove(value))
        {
            return false;
        }

        Count--;
        if (node.Values.Count == 0)
        {
            node.Values = null;
            node.Filter = null;
        }

        // Prune the branch up to the first node still in use.
        while (node.Parent is { } parent && node.IsEmpty)
        {
            parent.RemoveChild(node);
            node = parent;
        }

        return true;
    }

    /// <summary>
    /// Adds to <paramref name="results"/> every (filter, value) whose filter matches <paramref name="topic"/> under the
    /// rules of <see cref="Topic.Matches"/>, including [MQTT-4.7.2-1]: a topic starting with '$' is not matched by
    /// filters starting with '+' or '#'.
    /// </summary>
    public void Match(string topic, List<(string Filter, TValue Value)> results)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(results);
        if (topic.Length == 0)
        {
            return; // Not a topic name [MQTT-4.7.3-1]; Topic.Matches says no too.
        }

        bool systemTopic = topic.Length > 0 && topic[0] == '$';
        MatchLevel(_root, topic, 0, skipWildcards: systemTopic, results);
    }

    /// <summary>Matches the level of <paramref name="topic"/> starting at <paramref name="start"/> below <paramref name="node"/>.</summary>
    private static void MatchLevel(Node node, string topic, int start, bool skipWildcards, List<(string, TValue)> results)
    {
        if (!skipWildcards)
        {
            // '#' under this node matches this level and everything after it.
            AddValues(node.MultiLevel, results);
        }

        int slash = topic.IndexOf('/', start);
        int end = slash < 0 ? topic.Length : slash;
        if (!skipWildcards && node.SingleLevel is { } single)
        {
            Descend(single, topic, slash, results);
        }

        if (node.FindLiteralChild(topic.AsSpan(start, end - start)) is { } literal)
        {
            Descend(literal, topic, slash, results);
        }
    }

    /// <summary>Continues below <paramref name="child"/>, which matched the level that ends at <paramref name="slash"/>.</summary>
    private static void Descend(Node child, string topic, int slash, List<(string, TValue)> results)
    {
        if (slash >= 0)
        {
            MatchLevel(child, topic, slash + 1, skipWildcards: false, results);
            return;
        }

        // The topic ends at this level: the filter ending here matches, and so does "{this}/#" (4.7.1.2).
        AddValues(child, results);
        AddValues(child.MultiLevel, results);
    }

    private static void AddValues(Node? node, List<(string, TValue)> results)
    {
        if (node?.Values is { } values)
        {
            foreach (TValue value in values)
            {
                results.Add((node.Filter!, value));
            }
        }
    }

    private static IEnumerable<(string Filter, TValue Value)> Enumerate(Node root)
    {
        var pending = new Stack<Node>();
        pending.Push(root);
        while (pending.TryPop(out Node? node))
        {
            if (node.Values is { } values)
            {
                foreach (TValue value in values)
                {
                    yield return (node.Filter!, value);
                }
            }

            foreach (Node child in node.Children)
            {
                pending.Push(child);
            }
        }
    }

    private sealed class Node(Node? parent, string key)
    {
        private Dictionary<string, Node>? _literals;
        private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _literalLookup;

        public Node? Parent { get; } = parent;

        /// <summary>This node's level in its parent: a literal, "+" or "#".</summary>
        public string Key { get; } = key;

        public Node? SingleLevel { get; private set; }

        public Node? MultiLevel { get; private set; }

        /// <summary>The filter ending at this node, while it has values.</summary>
        public string? Filter { get; set; }

        public List<TValue>? Values { get; set; }

        public bool IsEmpty => Values is null && SingleLevel is null && MultiLevel is null && (_literals is null || _literals.Count == 0);

        public IEnumerable<Node> Children
        {
            get
            {
                if (SingleLevel is not null)
                {
                    yield return SingleLevel;
                }

                if (MultiLevel is not null)
                {
                    yield return MultiLevel;
                }

                if (_literals is not null)
                {
                    foreach (Node child in _literals.Values)
                    {
                        yield return child;
                    }
                }
            }
        }

        public Node? FindLiteralChild(ReadOnlySpan<char> level) =>
            _literals is not null && _literalLookup.TryGetValue(level, out Node? child) ? child : null;

        public Node? FindChild(ReadOnlySpan<char> level) => level switch
        {
            "+" => SingleLevel,
            "#" => MultiLevel,
            _ => FindLiteralChild(level),
        };

        public Node GetOrAddChild(ReadOnlySpan<char> level)
        {
            if (level is "+")
            {
                return SingleLevel ??= new Node(this, "+");
            }

            if (level is "#")
            {
                return MultiLevel ??= new Node(this, "#");
            }

            if (FindLiteralChild(level) is { } existing)
            {
                return existing;
            }

            if (_literals is null)
            {
                _literals = new Dictionary<string, Node>(StringComparer.Ordinal);
                _literalLookup = _literals.GetAlternateLookup<ReadOnlySpan<char>>();
            }

            string key = level.ToString();
            var child = new Node(this, key);
            _literals.Add(key, child);
            return child;
        }

        public void RemoveChild(Node child)
        {
            if (ReferenceEquals(child, SingleLevel))
            {
                SingleLevel = null;
            }
            else if (ReferenceEquals(child, MultiLevel))
            {
                MultiLevel = null;
            }
            else
            {
                _literals?.Remove(child.Key);
            }
        }
    }
}
