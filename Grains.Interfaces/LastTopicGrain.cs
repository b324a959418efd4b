namespace OrleansMqtt.Grains;

/// <summary>
/// The topic grain of the last topic asked for. Making a grain reference encodes the key and allocates the reference,
/// and a client nearly always repeats its topic, so a connection or a session keeps the last one. Not thread-safe: one
/// per connection or grain activation.
/// </summary>
public sealed class LastTopicGrain(IGrainFactory grains)
{
    private string? _topic;
    private ITopicGrain? _grain;

    public ITopicGrain Of(string topic)
    {
        if (_grain is not { } grain || !string.Equals(_topic, topic, StringComparison.Ordinal))
        {
            _grain = grain = grains.Reference<ITopicGrain>(topic);
            _topic = topic;
        }

        return grain;
    }
}
