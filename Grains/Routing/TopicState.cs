namespace OrleansMqtt.Grains;

[GenerateSerializer, Alias("mqtt.TopicState")]
public sealed class TopicState
{
    [Id(0)] public MqttMessage? Retained { get; set; }

    /// <summary>Subscribers of this exact topic, by <see cref="Subscriber.Key"/>.</summary>
    [Id(1)] public Dictionary<string, Subscriber> Subscribers { get; set; } = [];
}
