using System.Collections.Concurrent;

namespace OrleansMqtt.Grains;

/// <summary>
/// One per silo. Sessions hand it deliveries; it sends them to each gateway's observer in batches, one call in
/// flight per gateway, so that under load one call carries many messages and order per gateway is kept. A gateway
/// in the silo's own process (<see cref="ILocalGateway"/>) gets them directly, in the order they are sent.
/// </summary>
public sealed class GatewayDeliveryBatcher(ILogger<GatewayDeliveryBatcher> logger, IEnumerable<ILocalGateway> localGateways)
{
    private readonly ConcurrentDictionary<string, GatewayQueue> _gateways = new();
    private readonly ILocalGateway? _local = localGateways.FirstOrDefault();

    public void Send(ConnectionRef connection, Delivery delivery)
    {
        if (_local is { } local && string.Equals(connection.GatewayId, local.GatewayId, StringComparison.Ordinal))
        {
            local.Deliver(delivery);
            return;
        }

        var queue = _gateways.GetOrAdd(connection.GatewayId, static (_, c) => new GatewayQueue(c.Gateway), connection);
        queue.Enqueue(connection.Gateway, delivery, this);
    }

    private async Task FlushAsync(GatewayQueue queue)
    {
        while (queue.TakeBatch() is { } batch)
        {
            try
            {
                await batch.Gateway.Deliver(batch.Deliveries).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The gateway is gone or unreachable. QoS 1/2 messages stay in flight in their sessions and are
                // resent when the client reconnects; QoS 0 messages are lost, as the protocol allows.
                logger.LogWarning(ex, "Could not deliver {Count} messages to a gateway", batch.Deliveries.Length);
            }
        }
    }

    private sealed class GatewayQueue(IGatewayObserver gateway)
    {
        private readonly Lock _lock = new();
        private readonly List<Delivery> _pending = [];
        private IGatewayObserver _gateway = gateway;
        private bool _flushing;

        public void Enqueue(IGatewayObserver gateway, Delivery delivery, GatewayDeliveryBatcher owner)
        {
            lock (_lock)
            {
                _gateway = gateway;
                _pending.Add(delivery);
                if (_flushing)
                {
                    return;
                }

                _flushing = true;
            }

            _ = Task.Run(() => owner.FlushAsync(this));
        }

        public (IGatewayObserver Gateway, Delivery[] Deliveries)? TakeBatch()
        {
            lock (_lock)
            {
                if (_pending.Count == 0)
                {
                    _flushing = false;
                    return null;
                }

                var batch = _pending.ToArray();
                _pending.Clear();
                return (_gateway, batch);
            }
        }
    }
}
