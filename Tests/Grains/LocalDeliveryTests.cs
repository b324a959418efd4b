using Microsoft.Extensions.Logging.Abstractions;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.Grains;

/// <summary>
/// The silo's delivery batcher hands deliveries for a gateway in its own process straight to that gateway, in the
/// order sent and on the caller's turn, and sends those for any other gateway to its observer.
/// </summary>
public sealed class LocalDeliveryTests
{
    [Fact]
    public async Task Deliveries_for_the_gateway_in_the_silos_process_skip_its_observer_and_the_others_go_to_theirs()
    {
        var local = new RecordingLocalGateway("gw-local");
        var localObserver = new RecordingObserver();
        var remoteObserver = new RecordingObserver();
        var batcher = new GatewayDeliveryBatcher(NullLogger<GatewayDeliveryBatcher>.Instance, [local]);
        var mine = new ConnectionRef("gw-local", 1, localObserver);
        var theirs = new ConnectionRef("gw-remote", 2, remoteObserver);

        for (var i = 0; i < 5; i++)
        {
            batcher.Send(mine, Delivery(1, i));
            batcher.Send(theirs, Delivery(2, i));
        }

        // Handed over during Send itself, in order; the observer of the in-process gateway is never called.
        Assert.Equal(["0", "1", "2", "3", "4"], local.Delivered.Select(d => d.Message.Topic));
        Assert.Empty(localObserver.Delivered);

        // The other gateway's observer gets all of its own, in order, in one or more batches.
        await remoteObserver.WhenCount(5).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["0", "1", "2", "3", "4"], remoteObserver.Delivered.Select(d => d.Message.Topic));
        Assert.All(remoteObserver.Delivered, d => Assert.Equal(2, d.ConnectionId));
    }

    private static Delivery Delivery(long connectionId, int n) =>
        new(connectionId, new MqttMessage(n.ToString(System.Globalization.CultureInfo.InvariantCulture), new byte[] { 1 }, 0, false), 0, 0, false, false);

    private sealed class RecordingLocalGateway(string id) : ILocalGateway
    {
        public List<Delivery> Delivered { get; } = [];

        public string GatewayId => id;

        public void Deliver(Delivery delivery) => Delivered.Add(delivery);
    }

    private sealed class RecordingObserver : IGatewayObserver
    {
        private readonly Lock _lock = new();
        private readonly List<Delivery> _delivered = [];
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _awaited = int.MaxValue;

        public List<Delivery> Delivered
        {
            get
            {
                lock (_lock)
                {
                    return [.. _delivered];
                }
            }
        }

        public Task WhenCount(int count)
        {
            lock (_lock)
            {
                _awaited = count;
                if (_delivered.Count >= count)
                {
                    _reached.TrySetResult();
                }
            }

            return _reached.Task;
        }

        public Task Deliver(Delivery[] deliveries)
        {
            lock (_lock)
            {
                _delivered.AddRange(deliveries);
                if (_delivered.Count >= _awaited)
                {
                    _reached.TrySetResult();
                }
            }

            return Task.CompletedTask;
        }

        public Task Close(long connectionId, byte reasonCode) => Task.CompletedTask;

        public Task SessionMoved(long connectionId, SiloAddress? host) => Task.CompletedTask;
    }
}
