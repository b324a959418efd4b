namespace OrleansMqtt.Grains;

/// <summary>
/// One per outbound queue (key: the queue name): forwards the messages of its rules' topic filters to an Azure
/// Storage Queue. It holds a persistent session (<see cref="BridgeClientIds.Outbound"/>) subscribed to those filters,
/// and is that session's gateway: the session stores and orders the messages, the bridge acknowledges each one only
/// after the queue accepted it.
/// </summary>
[Alias("mqtt.IOutboundBridgeGrain")]
public interface IOutboundBridgeGrain : IGrainWithStringKey, IGatewayObserver
{
    /// <summary>Activates the bridge and connects its session, if not done yet. Called periodically by every silo.</summary>
    [Alias("Start")]
    Task Start();

    [Alias("GetInfo")]
    Task<BridgeInfo> GetInfo();
}

/// <summary>
/// One per inbound queue (key: the queue name): publishes the messages that backend services put on the queue to
/// MQTT, deleting each only after it was published, and sets aside those that cannot be published.
/// Its single activation makes it the one poller of its queue across the cluster.
/// </summary>
[Alias("mqtt.IInboundBridgeGrain")]
public interface IInboundBridgeGrain : IGrainWithStringKey
{
    /// <summary>Activates the bridge and starts polling, if not done yet. Called periodically by every silo.</summary>
    [Alias("Start")]
    Task Start();

    [Alias("GetInfo")]
    Task<BridgeInfo> GetInfo();
}

/// <summary>What a bridge has done since it was activated, for operators and tests.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.BridgeInfo")]
public sealed record BridgeInfo(
    [property: Id(0)] bool Running,
    [property: Id(1)] long Forwarded,
    [property: Id(2)] long Failed,
    [property: Id(3)] long Poisoned,
    [property: Id(4)] long Lag);
