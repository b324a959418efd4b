using OrleansMqtt.Grains;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    private string? _lastTopic;
    private ITopicGrain? _lastTopicGrain;

    /// <summary>
    /// The topic grain for <paramref name="topic"/>. Making a grain reference resolves the interface type through
    /// reflection on every call, so the reference of the last topic is kept: a device nearly always repeats its topic.
    /// </summary>
    private ITopicGrain TopicGrainOf(string topic)
    {
        if (_lastTopicGrain is null || !string.Equals(_lastTopic, topic, StringComparison.Ordinal))
        {
            _lastTopicGrain = _grains.GetGrain<ITopicGrain>(topic);
            _lastTopic = topic;
        }

        return _lastTopicGrain;
    }
}
