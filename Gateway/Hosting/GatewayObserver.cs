using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>This gateway's one observer: grains push deliveries and close requests through it.</summary>
public sealed class GatewayObserver(ConnectionRegistry connections) : IGatewayObserver
{
    public Task Deliver(Delivery[] deliveries)
    {
        foreach (var delivery in deliveries)
        {
            Deliver(delivery);
        }

        return Task.CompletedTask;
    }

    public void Deliver(Delivery delivery)
    {
        // A connection that is gone drops its deliveries here; QoS 1/2 ones stay in flight in the session.
        if (connections.TryGet(delivery.ConnectionId, out var connection))
        {
            connection.Send(delivery);
        }
    }

    public Task Close(long connectionId, byte reasonCode)
    {
        // Only starts the close: the session that asked is waiting for this call, and the connection's own
        // disconnect call to that session must not wait for it in turn.
        if (connections.TryGet(connectionId, out var connection))
        {
            connection.Close((ReasonCode)reasonCode, "closed by the broker");
        }

        return Task.CompletedTask;
    }

    public Task SessionMoved(long connectionId, SiloAddress? host)
    {
        if (connections.TryGet(connectionId, out var connection))
        {
            connection.SessionHost = connections.InternSessionHost(host);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Who this gateway is to the grains: an id and the reference to its observer. The observer object is held here
/// because Orleans keeps only a weak reference to it. In a silo's process it is also the <see cref="ILocalGateway"/>
/// that the silo's sessions deliver to directly.
/// </summary>
public sealed class GatewayEndpoint(IGrainFactory grainFactory, GatewayObserver observer) : ILocalGateway
{
    private readonly Lock _lock = new();
    private IGatewayObserver? _reference;

    public string GatewayId { get; } = $"gw-{Environment.MachineName}-{Guid.NewGuid():N}";

    public GatewayObserver Observer => observer;

    /// <summary>The clients this gateway traces on demand.</summary>
    public ClientTrace Traces { get; } = new();

    public IGatewayObserver Reference
    {
        get
        {
            lock (_lock)
            {
                return _reference ??= grainFactory.CreateObjectReference<IGatewayObserver>(observer);
            }
        }
    }

    public ConnectionRef RefFor(long connectionId) => new(GatewayId, connectionId, Reference);

    public void Deliver(Delivery delivery) => observer.Deliver(delivery);
}
