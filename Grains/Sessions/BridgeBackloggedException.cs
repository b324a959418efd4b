namespace OrleansMqtt.Grains;

/// <summary>
/// A bridge's session holds as many messages as it may and its queue service is not taking more: the publish is
/// refused rather than acknowledged and dropped, and the publisher's gateway retries it.
/// </summary>
[GenerateSerializer, Alias("mqtt.BridgeBackloggedException")]
public sealed class BridgeBackloggedException : Exception
{
    public BridgeBackloggedException()
    {
    }

    public BridgeBackloggedException(string message) : base(message)
    {
    }

    public BridgeBackloggedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
