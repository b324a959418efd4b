namespace OrleansMqtt.Grains;

/// <summary>
/// Splits a run of messages by topic, for one topic-grain call per topic with the order kept within each: the indexes
/// of each topic's messages, topics in the order they first appear. A client mostly publishes to one topic, so that
/// case makes one group without a dictionary.
/// </summary>
public static class TopicGroups
{
    public static List<List<int>> Of(IReadOnlyList<MqttMessage> messages)
    {
        var topic = messages[0].Topic;
        var single = true;
        for (var i = 1; i < messages.Count && single; i++)
        {
            single = string.Equals(messages[i].Topic, topic, StringComparison.Ordinal);
        }

        if (single)
        {
            return [[.. Enumerable.Range(0, messages.Count)]];
        }

        var byTopic = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var groups = new List<List<int>>();
        for (var i = 0; i < messages.Count; i++)
        {
            if (!byTopic.TryGetValue(messages[i].Topic, out var indexes))
            {
                byTopic[messages[i].Topic] = indexes = [];
                groups.Add(indexes);
            }

            indexes.Add(i);
        }

        return groups;
    }
}
