namespace OrleansMqtt.Grains;

/// <summary>
/// A gateway hosted in the silo's own process (the embedded broker). Sessions hand deliveries for its connections
/// straight to it rather than through its <see cref="IGatewayObserver"/>: no Orleans message, no copy, and none of the
/// thread-pool hand-offs of an observer call, which is where the latency of a delivery goes at low rates.
/// </summary>
public interface ILocalGateway
{
    /// <summary>The id in this gateway's <see cref="ConnectionRef"/>s.</summary>
    string GatewayId { get; }

    /// <summary>
    /// Queues <paramref name="delivery"/> on its connection, or drops it when the connection is gone (QoS 1/2 messages
    /// stay in flight in the session). Called on the session's turn: it only queues, and never writes to a socket.
    /// </summary>
    void Deliver(Delivery delivery);
}
