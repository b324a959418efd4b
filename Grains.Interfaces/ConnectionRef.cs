namespace OrleansMqtt.Grains;

/// <summary>
/// Where a connection lives: its gateway and that gateway's observer. Connection ids are unique across gateways
/// (a random per-process prefix and a counter), so a session can tell its current connection from an old one by id.
/// </summary>
[GenerateSerializer, Immutable, Alias("mqtt.ConnectionRef")]
public sealed record ConnectionRef(
    [property: Id(0)] string GatewayId,
    [property: Id(1)] long ConnectionId,
    [property: Id(2)] IGatewayObserver Gateway);
