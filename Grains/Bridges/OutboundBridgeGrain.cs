using System.Text;
using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// MQTT → queue for one queue. The bridge is an MQTT client of the cluster that never goes away: it holds the
/// persistent session <c>$bridge/out/{queue}</c>, subscribed at QoS 1 to the queue's filters, and acts as that
/// session's gateway. The session does what it does for any persistent subscriber: a publisher's PUBACK waits until
/// the session stored the message, order is kept, and while the queue service is down messages wait in the session's
/// queue (bounded like every session's) instead of slowing anyone else. The bridge appends each message to the queue
/// and acknowledges it (PUBACK) only after the queue accepted it, so a crash anywhere resends rather than loses.
/// Storage Queues have no batch append: up to <see cref="BridgeOptions.MaxConcurrentSends"/> messages are sent at
/// once, but one publisher's messages one after another, so that they reach the queue in the order they were published.
/// </summary>
[Reentrant]
public sealed class OutboundBridgeGrain(
    BridgeQueues queues,
    IOptions<BridgeOptions> options,
    IOptions<LeaseOptions> leaseOptions,
    ILogger<OutboundBridgeGrain> logger) : Grain, IOutboundBridgeGrain
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly BridgeOptions _options = options.Value;
    private QueueClient _queue = null!;
    private string[] _filters = [];
    private IGrainTimer? _timer;

    // The connection the session knows; deliveries and sends of an older one are ignored (the session resends them).
    private long _connectionId;
    private bool _connected;
    private Task? _connecting;
    private bool _queueExists;

    // One lane per publisher: its messages are sent in order, one at a time.
    private Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private Queue<Lane> _waiting = new();
    private int _senders;

    private readonly List<ClientAck> _acks = [];
    private bool _acking;

    private long _forwarded;
    private long _failed;
    private long _poisoned;
    private long _lag;

    private string QueueName => this.GetPrimaryKeyString();

    private string ClientId => BridgeClientIds.Outbound(QueueName);

    private ISessionGrain Session => GrainFactory.Reference<ISessionGrain>(ClientId);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _filters = _options.FiltersOf(QueueName);
        _queue = queues.Get(QueueName);
        if (_filters.Length > 0)
        {
            // Renews the lease the session attached the bridge's connection to, and reconnects after a failure.
            var period = leaseOptions.Value.RenewInterval;
            _timer = this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(period, period) { Interleave = true, KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        BridgeMetrics.RemoveLag(BridgeMetrics.Outbound, QueueName);
        return Task.CompletedTask;
    }

    public Task Start() => _filters.Length == 0 ? Task.CompletedTask : EnsureConnectedAsync();

    public Task<BridgeInfo> GetInfo() => Task.FromResult(new BridgeInfo(_connected, _forwarded, _failed, _poisoned, _lag));

    /// <summary>The session hands over messages (the silo's delivery batcher calls this).</summary>
    public Task Deliver(Delivery[] deliveries)
    {
        Accept(deliveries);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The session closes the bridge's connection: its silo restarted (it recovers from storage) or the lease lapsed.
    /// The bridge connects again at once and gets every unacknowledged message again.
    /// </summary>
    public Task Close(long connectionId, byte reasonCode)
    {
        if (connectionId == _connectionId && _connected)
        {
            logger.LogInformation("Bridge to queue {Queue}: the session closed the connection (reason 0x{Reason:X2}); connecting again", QueueName, reasonCode);
            Reset();
            _ = EnsureConnectedAsync();
        }

        return Task.CompletedTask;
    }

    /// <summary>Only memory-only (clean) sessions report their silo; the bridge's session is stored.</summary>
    public Task SessionMoved(long connectionId, SiloAddress? host) => Task.CompletedTask;

    private Task EnsureConnectedAsync() => _connected ? Task.CompletedTask : _connecting ??= ConnectAsync();

    private async Task ConnectAsync()
    {
        try
        {
            Reset();
            var connectionId = Random.Shared.NextInt64(1, long.MaxValue);
            _connectionId = connectionId;
            var self = this.AsReference<IOutboundBridgeGrain>();
            var request = new ConnectRequest(
                new ConnectionRef(ClientId, connectionId, self),
                (byte)MqttProtocolVersion.V500,
                CleanStart: false,
                SessionExpiryInterval: SessionExpiry.Never,
                Will: null,
                ReceiveMaximum: (ushort)_options.MaxInflightMessages);
            var result = await Session.Connect(request);
            if (connectionId != _connectionId)
            {
                return;
            }

            await SubscribeAsync(connectionId);
            _connected = true;
            logger.LogInformation("Bridge to queue {Queue} connected for {Filters} ({Pending} messages pending)", QueueName, string.Join(", ", _filters), result.Pending.Length);
            Accept(result.Pending);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Bridge to queue {Queue} could not connect its session; trying again", QueueName);
            Reset();
        }
        finally
        {
            _connecting = null;
        }
    }

    /// <summary>
    /// Subscribes to the configured filters not yet held and drops those no longer configured. Retained messages are
    /// not sent at subscribe (Retain Handling 2): the bridge forwards what is published. RETAIN is kept as published.
    /// </summary>
    private async Task SubscribeAsync(long connectionId)
    {
        var held = (await Session.GetInfo()).Subscriptions;
        if (held.Except(_filters).ToArray() is { Length: > 0 } stale)
        {
            await Session.Unsubscribe(connectionId, stale);
        }

        if (_filters.Except(held).ToArray() is { Length: > 0 } missing)
        {
            var requests = missing.Select(f => new SubscriptionRequest(f, (byte)QualityOfService.AtLeastOnce, NoLocal: false, RetainAsPublished: true, RetainHandling: 2)).ToArray();
            var result = await Session.Subscribe(connectionId, requests, null);
            for (var i = 0; i < missing.Length; i++)
            {
                if (result.ReasonCodes[i] >= 0x80)
                {
                    throw new InvalidOperationException($"subscribing to '{missing[i]}' failed with reason 0x{result.ReasonCodes[i]:X2}");
                }
            }
        }
    }

    private void Reset()
    {
        _connected = false;
        _connectionId = 0;
        _lanes = new(StringComparer.Ordinal);
        _waiting = new();
        _senders = 0;
        _acks.Clear();
    }

    private async Task TickAsync()
    {
        if (!_connected)
        {
            await EnsureConnectedAsync();
            return;
        }

        try
        {
            var connectionId = _connectionId;
            var expired = await GrainFactory.Reference<IGatewayLeaseGrain>(ClientId).Renew(leaseOptions.Value.Duration);
            if (expired.Contains(connectionId) && connectionId == _connectionId)
            {
                logger.LogWarning("Bridge to queue {Queue}: its lease lapsed; connecting again", QueueName);
                Reset();
                await EnsureConnectedAsync();
                return;
            }

            var info = await Session.GetInfo();
            _lag = info.Queued + info.InFlight;
            BridgeMetrics.SetLag(BridgeMetrics.Outbound, QueueName, _lag);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Bridge to queue {Queue} could not renew its lease", QueueName);
        }
    }

    /// <summary>Puts each message in its publisher's lane and starts senders, at most MaxConcurrentSends.</summary>
    private void Accept(IEnumerable<Delivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (delivery.ConnectionId != _connectionId || delivery.IsRelease)
            {
                continue;
            }

            var publisher = delivery.Message.PublisherId ?? "";
            if (!_lanes.TryGetValue(publisher, out var lane))
            {
                _lanes[publisher] = lane = new Lane(publisher);
            }

            lane.Messages.Enqueue(delivery);
            if (!lane.Sending && !lane.Waiting)
            {
                lane.Waiting = true;
                _waiting.Enqueue(lane);
            }
        }

        StartSenders();
    }

    private void StartSenders()
    {
        while (_senders < _options.MaxConcurrentSends && _waiting.TryDequeue(out var lane))
        {
            lane.Waiting = false;
            lane.Sending = true;
            _senders++;
            _ = SendLaneAsync(lane, _connectionId);
        }
    }

    private async Task SendLaneAsync(Lane lane, long connectionId)
    {
        try
        {
            while (connectionId == _connectionId && lane.Messages.TryPeek(out var delivery))
            {
                if (!await SendAsync(delivery, connectionId))
                {
                    return;
                }

                lane.Messages.Dequeue();
                if (delivery.Qos > 0)
                {
                    Acknowledge(delivery.PacketId);
                }
            }
        }
        finally
        {
            if (connectionId == _connectionId)
            {
                lane.Sending = false;
                _senders--;
                if (lane.Messages.Count == 0)
                {
                    _lanes.Remove(lane.Publisher);
                }
                else
                {
                    lane.Waiting = true;
                    _waiting.Enqueue(lane);
                }

                StartSenders();
            }
        }
    }

    /// <summary>
    /// Appends one message, retrying with backoff until the queue accepts it. False when the connection changed
    /// meanwhile: the session sends the message again on the new one.
    /// </summary>
    private async Task<bool> SendAsync(Delivery delivery, long connectionId)
    {
        var message = delivery.Message;
        if (message.IsExpired(DateTime.UtcNow))
        {
            return true;
        }

        var envelope = BridgeEnvelope.Write(message, DateTime.UtcNow, delivery.Dup);
        if (Encoding.UTF8.GetByteCount(envelope) > BridgeEnvelope.MaxQueueMessageBytes)
        {
            return SetAside(message, $"its envelope is {Encoding.UTF8.GetByteCount(envelope)} bytes, more than a queue message holds (64 KiB)");
        }

        var delay = FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (!_queueExists)
                {
                    await _queue.CreateIfNotExistsAsync();
                    _queueExists = true;
                }

                await _queue.SendMessageAsync(envelope);
                _forwarded++;
                BridgeMetrics.Forwarded(BridgeMetrics.Outbound, QueueName);
                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 400 or 413)
            {
                return SetAside(message, ex.Message);
            }
            catch (Exception ex)
            {
                _failed++;
                BridgeMetrics.Failed(BridgeMetrics.Outbound, QueueName);
                if (ex is RequestFailedException { Status: 404 })
                {
                    _queueExists = false;
                }

                if (attempt == 1 || attempt % 10 == 0)
                {
                    logger.LogWarning("Bridge to queue {Queue}: appending a message from {Publisher} failed (attempt {Attempt}, next in {Delay} ms): {Error}", QueueName, message.PublisherId, attempt, delay.TotalMilliseconds, ex.Message);
                }
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            if (connectionId != _connectionId)
            {
                return false;
            }

            BridgeMetrics.Retried(BridgeMetrics.Outbound, QueueName);
        }
    }

    /// <summary>A message no queue can take: counted, logged and acknowledged, so that it does not block its publisher's lane.</summary>
    private bool SetAside(MqttMessage message, string reason)
    {
        _poisoned++;
        BridgeMetrics.Poisoned(BridgeMetrics.Outbound, QueueName);
        logger.LogError("Bridge to queue {Queue}: a message on {Topic} from {Publisher} was dropped: {Reason}", QueueName, message.Topic, message.PublisherId, reason);
        return true;
    }

    /// <summary>PUBACKs go to the session in batches, one call in flight; what they let go comes back through Deliver.</summary>
    private void Acknowledge(ushort packetId)
    {
        _acks.Add(new ClientAck((byte)PacketType.PubAck, packetId));
        if (!_acking)
        {
            _ = AcknowledgeAsync();
        }
    }

    private async Task AcknowledgeAsync()
    {
        _acking = true;
        try
        {
            while (_acks.Count > 0)
            {
                var connectionId = _connectionId;
                ClientAck[] batch = [.. _acks];
                _acks.Clear();
                try
                {
                    await Session.Acknowledge(connectionId, batch);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Bridge to queue {Queue} could not acknowledge {Count} messages; trying again", QueueName, batch.Length);
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    if (connectionId == _connectionId)
                    {
                        _acks.InsertRange(0, batch);
                    }
                }
            }
        }
        finally
        {
            _acking = false;
        }
    }

    private sealed class Lane(string publisher)
    {
        public string Publisher { get; } = publisher;

        public Queue<Delivery> Messages { get; } = new();

        public bool Sending { get; set; }

        public bool Waiting { get; set; }
    }
}
