using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

public sealed partial class SessionGrain
{
    private LastTopicGrain? _topicGrains;

    // A bridge's queue is full and publishes to its topics are refused; logged once until it takes messages again.
    private bool _backlogged;

    // The last topic a subscription of this session matched, and the subscriptions it was matched against.
    private string? _wantedTopic;
    private Dictionary<string, StoredSubscription>? _wantedIn;

    // Bytes of the messages the state below holds, queued and in flight, at their stored size (see HeldBytes).
    private long _heldBytes;
    private SessionState? _heldBytesOf;

    public async Task<bool> Deliver(MqttMessage message, byte qos, bool retain, uint[]? subscriptionIds, string? sharedVia)
    {
        if (!State.Exists || (sharedVia is not null ? !State.Subscriptions.ContainsKey(sharedVia) : !Wants(message.Topic)))
        {
            // The session ended while this message was on its way, or this is a new session that does not hold the
            // subscription (see Wants); another member of the group takes it.
            return false;
        }

        if (FirstDelivery(message))
        {
            var pending = new PendingDeliveries();
            Accept(new QueuedMessage(message, qos, retain, subscriptionIds, sharedVia), ref pending);
            await pending.CompleteAsync(this);
        }

        return true;
    }

    public Task DeliverMany(RoutedMessage[] messages)
    {
        if (!State.Exists)
        {
            return Task.CompletedTask;
        }

        var pending = new PendingDeliveries();
        try
        {
            foreach (var routed in messages)
            {
                if (Wants(routed.Message.Topic) && FirstDelivery(routed.Message))
                {
                    Accept(new QueuedMessage(routed.Message, routed.Qos, routed.Retain, routed.SubscriptionIds, null), ref pending);
                }
            }
        }
        catch (BridgeBackloggedException ex)
        {
            // What was taken before the queue filled up still goes out; the rest is refused.
            return RefuseAfterAsync(pending.CompleteAsync(this), ex);
        }

        return pending.CompleteAsync(this);
    }

    private static async Task RefuseAfterAsync(Task taken, Exception refusal)
    {
        await taken;
        throw refusal;
    }

    /// <summary>
    /// Sends a message now when the connection and the in-flight window allow, or queues it. A persistent session's
    /// QoS 1/2 message waits until the session has stored it, and every message after it in the same call waits
    /// with it, so that the client sees them in the order they were published.
    /// </summary>
    private void Accept(QueuedMessage queued, ref PendingDeliveries pending)
    {
        var qos = queued.Qos;
        if (State.Connection is { } connection)
        {
            if (qos == 0 || (State.QueueCount == 0 && State.InFlightCount < _receiveMaximum && TryHold(queued)))
            {
                var delivery = Start(queued, connection);
                if ((qos > 0 && IsPersistent) || pending.AfterCommit is not null)
                {
                    pending.Connection = connection;
                    (pending.AfterCommit ??= []).Add(delivery);
                }
                else
                {
                    _batcher.Send(connection, delivery);
                }

                return;
            }
        }
        else if (qos == 0 && !_options.QueueQos0WhileOffline)
        {
            return;
        }

        Enqueue(queued);
        pending.Save = true;
    }

    /// <summary>
    /// Whether a subscription of this session (not a shared one) matches <paramref name="topic"/>. The index can name a
    /// session for filters it no longer holds: a clean session lost with its silo could not take its subscriptions out,
    /// and the client's next session under the same id did not ask for those messages. Its last matched topic is
    /// remembered, since a subscriber's messages mostly come on a few topics.
    /// </summary>
    private bool Wants(string topic)
    {
        var subscriptions = State.Subscriptions;
        if (ReferenceEquals(subscriptions, _wantedIn) && string.Equals(topic, _wantedTopic, StringComparison.Ordinal))
        {
            return true;
        }

        var wanted = subscriptions.ContainsKey(topic);
        if (!wanted)
        {
            foreach (var filter in subscriptions.Keys)
            {
                // A shared filter ("$share/...") matches no topic name here: its first level is "$share".
                if (Topic.HasWildcard(filter) && Topic.Matches(filter, topic))
                {
                    wanted = true;
                    break;
                }
            }
        }

        if (wanted)
        {
            (_wantedIn, _wantedTopic) = (subscriptions, topic);
        }

        return wanted;
    }

    /// <summary>What <see cref="Accept"/> left to do once a call's messages are all taken.</summary>
    private struct PendingDeliveries
    {
        public bool Save;
        public ConnectionRef? Connection;
        public List<Delivery>? AfterCommit;

        public readonly Task CompleteAsync(SessionGrain session) =>
            AfterCommit is not null ? session.SendWhenStoredAsync(Connection!, AfterCommit)
            : Save ? session.SaveAsync()
            : Task.CompletedTask;
    }

    public async Task Acknowledge(long connectionId, ClientAck[] acks)
    {
        if (State.Connection is not { } connection || connection.ConnectionId != connectionId)
        {
            return;
        }

        var changed = false;
        foreach (var ack in acks)
        {
            var index = IndexInFlight(ack.PacketId);
            if (index < 0)
            {
                continue;
            }

            var inFlight = State.InFlight[index];
            switch ((PacketType)ack.PacketType)
            {
                case PacketType.PubAck when inFlight.Message.Qos == 1:
                case PacketType.PubComp when inFlight.Message.Qos == 2:
                    Let(inFlight.Message);
                    State.InFlight.RemoveAt(index);
                    changed = true;
                    break;
                case PacketType.PubRec when inFlight.Message.Qos == 2:
                    // A v5 PUBREC with a failure code ends the exchange: no PUBREL follows (4.3.3).
                    if (ack.ReasonCode >= 0x80)
                    {
                        Let(inFlight.Message);
                        State.InFlight.RemoveAt(index);
                    }
                    else
                    {
                        inFlight.Released = true;
                    }

                    changed = true;
                    break;
            }
        }

        // What the window lets go takes the path of every delivery, not the answer to this call: a message delivered
        // after this turn would otherwise reach the client before these, which were queued before it. A persistent
        // session sends them once stored, in turn with the deliveries that wait for the same or a later write.
        var next = new List<Delivery>();
        FillWindow(connection, next);
        if (IsPersistent)
        {
            if (changed || next.Count > 0)
            {
                await SendWhenStoredAsync(connection, next);
            }

            return;
        }

        foreach (var delivery in next)
        {
            _batcher.Send(connection, delivery);
        }
    }

    public async Task<byte[]> PublishExactlyOnce(long connectionId, ExactlyOncePublish[] messages)
    {
        var reasons = new byte[messages.Length];
        if (!IsCurrent(connectionId))
        {
            Array.Fill(reasons, (byte)ReasonCode.UnspecifiedError);
            return reasons;
        }

        // Indexes into messages of those to route now, each with its exactly-once id.
        var routed = new List<int>(messages.Length);
        var toRoute = new List<MqttMessage>(messages.Length);
        var assigned = false;
        for (var i = 0; i < messages.Length; i++)
        {
            var packetId = messages[i].PacketId;

            // A resent PUBLISH of an id still awaiting PUBREL is the same message: do not publish it again (4.3.3).
            if ((State.AwaitingRelease.Contains(packetId) && !State.Publishing.ContainsKey(packetId)) || RoutesId(messages, routed, packetId))
            {
                reasons[i] = (byte)ReasonCode.Success;
                continue;
            }

            // The id is stored before routing: if this silo dies mid-way, the resend goes out under the same id and
            // sessions that already took the message drop the copy.
            if (!State.Publishing.TryGetValue(packetId, out var exactlyOnceId))
            {
                exactlyOnceId = Random.Shared.NextInt64(1, long.MaxValue);
                State.Publishing[packetId] = exactlyOnceId;
                assigned = true;
            }

            routed.Add(i);
            toRoute.Add(messages[i].Message with { ExactlyOnceId = exactlyOnceId });
        }

        if (assigned)
        {
            await SaveAsync();
        }

        var matched = await RouteAsync(toRoute);
        for (var k = 0; k < routed.Count; k++)
        {
            var packetId = messages[routed[k]].PacketId;
            State.Publishing.Remove(packetId);
            State.AwaitingRelease.Add(packetId);
            reasons[routed[k]] = matched[k] == 0 ? (byte)ReasonCode.NoMatchingSubscribers : (byte)ReasonCode.Success;
        }

        // Written with the next write: until then a resend after a crash is published again, and recognised.
        _ = SaveAsync();
        return reasons;
    }

    /// <summary>Whether this call already routes <paramref name="packetId"/> (a client that resent it at once).</summary>
    private static bool RoutesId(ExactlyOncePublish[] messages, List<int> routed, ushort packetId)
    {
        foreach (var i in routed)
        {
            if (messages[i].PacketId == packetId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Publishes the messages, one call per topic grain, in order per topic; returns how many subscriptions matched
    /// each.
    /// </summary>
    private async Task<int[]> RouteAsync(List<MqttMessage> messages)
    {
        var matched = new int[messages.Count];
        if (messages.Count == 0)
        {
            return matched;
        }

        var topics = _topicGrains ??= new LastTopicGrain(GrainFactory);
        await Task.WhenAll(TopicGroups.Of(messages).Select(async group =>
        {
            var count = await topics.Of(messages[group[0]].Topic).Publish([.. group.Select(i => messages[i])]);
            foreach (var i in group)
            {
                matched[i] = count;
            }
        }));
        return matched;
    }

    public async Task<byte[]> Release(long connectionId, ushort[] packetIds)
    {
        var reasons = new byte[packetIds.Length];
        var released = false;
        for (var i = 0; i < packetIds.Length; i++)
        {
            if (!State.AwaitingRelease.Remove(packetIds[i]) & !State.Publishing.Remove(packetIds[i]))
            {
                reasons[i] = (byte)ReasonCode.PacketIdentifierNotFound;
            }
            else
            {
                released = true;
            }
        }

        if (released)
        {
            await SaveAsync();
        }

        return reasons;
    }

    /// <summary>Sends now what the in-flight window allows, and queues the rest.</summary>
    private void Dispatch(QueuedMessage message, ConnectionRef connection, List<Delivery> output)
    {
        if (message.Qos == 0 || (State.QueueCount == 0 && State.InFlightCount < _receiveMaximum && TryHold(message)))
        {
            output.Add(Start(message, connection));
        }
        else
        {
            Enqueue(message);
        }
    }

    /// <summary>On reconnect, unacknowledged PUBLISH packets go again with DUP set, and PUBRELs again [MQTT-4.4.0-1].</summary>
    private void ResendInFlight(ConnectionRef connection, List<Delivery> output)
    {
        if (State.InFlightCount == 0)
        {
            return;
        }

        foreach (var inFlight in State.InFlight)
        {
            var m = inFlight.Message;
            output.Add(new Delivery(connection.ConnectionId, m.Message, m.Qos, inFlight.PacketId, Dup: true, m.Retain, m.SubscriptionIds, IsRelease: inFlight.Released));
        }
    }

    private void FillWindow(ConnectionRef connection, List<Delivery> output)
    {
        // Counted before messages move from the queue to the window, while each is in one list only.
        _ = HeldBytes;
        var now = DateTime.UtcNow;
        var taken = 0;
        while (taken < State.QueueCount && State.InFlightCount < _receiveMaximum)
        {
            var next = State.Queue[taken++];

            // A queued message whose expiry passed is deleted, not delivered (3.3.2.3.3). One at QoS 0 (queued while
            // offline) is held no longer once sent.
            var expired = next.Message.IsExpired(now);
            if (expired || next.Qos == 0)
            {
                Let(next);
            }

            if (!expired)
            {
                output.Add(Start(next, connection));
            }
        }

        if (taken > 0)
        {
            State.Queue.RemoveRange(0, taken);
        }
    }

    /// <summary>
    /// Makes the PUBLISH for a message: QoS 1/2 get a packet id and stay in flight until acknowledged. A new QoS 1/2
    /// message is held first (<see cref="TryHold"/>); one from the queue already is.
    /// </summary>
    private Delivery Start(QueuedMessage message, ConnectionRef connection)
    {
        ushort packetId = 0;
        if (message.Qos > 0)
        {
            packetId = NextPacketId();
            State.InFlight.Add(new InFlightMessage { PacketId = packetId, Message = message });
        }

        return new Delivery(connection.ConnectionId, message.Message, message.Qos, packetId, Dup: false, message.Retain, message.SubscriptionIds);
    }

    /// <summary>
    /// Queues a message, within <see cref="SessionOptions.MaxQueuedMessages"/> and the bytes the session may hold
    /// (<see cref="ByteLimit"/>); what does not fit meets the overflow policy.
    /// </summary>
    private void Enqueue(QueuedMessage message)
    {
        var size = StoredSize.Of(message);
        if (!HasRoomFor(size))
        {
            if (message.Qos > 0 && BridgeClientIds.IsReserved(ClientId))
            {
                // A bridge's session never drops what a publisher is told was received: the publish fails instead,
                // so the gateway retries it with backoff and the publisher waits for its PUBACK until the queue
                // service takes messages again. A message larger than the byte bound on its own is taken when the
                // session holds nothing else, or it would wait for ever.
                if (State.QueueCount >= _options.MaxQueuedMessages || HeldBytes > 0)
                {
                    // Its resend must not be taken for a copy this session already has.
                    State.RecentExactlyOnceIds.Remove(message.Message.ExactlyOnceId);
                    if (!_backlogged)
                    {
                        _backlogged = true;
                        _logger.LogWarning("Bridge session {ClientId} is full ({Queued} messages queued, {Bytes} bytes held): publishes to its topics wait for the queue service", ClientId, State.QueueCount, HeldBytes);
                    }

                    throw new BridgeBackloggedException($"The bridge {ClientId} has {State.QueueCount} messages waiting ({HeldBytes} bytes held), the most it holds (Mqtt:Sessions:MaxQueuedMessages, Mqtt:Sessions:MaxSessionBytes).");
                }
            }
            else
            {
                // Dropping older messages makes room only when the message fits beside those in flight (counted only
                // when the bytes are what is full).
                if (_options.QueueOverflow == QueueOverflowPolicy.DropOldest && (HeldBytes + size <= ByteLimit || HeldBytes - QueuedBytes() + size <= ByteLimit))
                {
                    while (State.QueueCount > 0 && !HasRoomFor(size))
                    {
                        Let(State.Queue[0]);
                        State.Queue.RemoveAt(0);
                        CountDropped(size);
                    }
                }

                if (!HasRoomFor(size))
                {
                    CountDropped(size);
                    return;
                }
            }
        }

        _backlogged = false;
        State.Queue.Add(message);
        _heldBytes = HeldBytes + size;
    }

    /// <summary>The bytes of messages this session may hold (<see cref="SessionOptions.SessionByteLimit"/>).</summary>
    private long ByteLimit => _options.SessionByteLimit;


    private bool HasRoomFor(long size) => State.QueueCount < _options.MaxQueuedMessages && HeldBytes + size <= ByteLimit;

    private void CountDropped(long size)
    {
        State.DroppedMessages++;
        BrokerMetrics.MessageDropped(DropReason.QueueFull);
        if (State.DroppedMessages == 1 || State.DroppedMessages % 1000 == 0)
        {
            _logger.LogWarning(
                "Session {ClientId} is full ({Queued} of {MaxQueued} messages queued, {Bytes} of {MaxBytes} bytes held, a message of {Size} bytes to take): {Dropped} messages dropped so far ({Policy})",
                ClientId, State.QueueCount, _options.MaxQueuedMessages, HeldBytes, ByteLimit, size, State.DroppedMessages, _options.QueueOverflow);
        }
    }

    /// <summary>
    /// Bytes of the messages this session holds, queued and in flight, at their stored size (<see cref="StoredSize"/>):
    /// counted when the state is new to this activation (read from storage, or a new session), then kept as messages
    /// come and go.
    /// </summary>
    private long HeldBytes
    {
        get
        {
            var state = State;
            if (!ReferenceEquals(state, _heldBytesOf))
            {
                long bytes = 0;
                if (state.InFlightCount > 0)
                {
                    foreach (var inFlight in state.InFlight)
                    {
                        bytes += StoredSize.Of(inFlight.Message);
                    }
                }

                if (state.QueueCount > 0)
                {
                    foreach (var queued in state.Queue)
                    {
                        bytes += StoredSize.Of(queued);
                    }
                }

                (_heldBytesOf, _heldBytes) = (state, bytes);
            }

            return _heldBytes;
        }
    }

    private long QueuedBytes()
    {
        long bytes = 0;
        foreach (var queued in State.Queue)
        {
            bytes += StoredSize.Of(queued);
        }

        return bytes;
    }

    /// <summary>Holds a new message about to go in flight, if the session's byte bound has room for it.</summary>
    private bool TryHold(QueuedMessage message)
    {
        var size = StoredSize.Of(message);
        var held = HeldBytes + size;
        if (held > ByteLimit)
        {
            return false;
        }

        _heldBytes = held;
        return true;
    }

    /// <summary>A message the session no longer holds (acknowledged, expired or dropped), called before it leaves its list.</summary>
    private void Let(QueuedMessage message) => _heldBytes = HeldBytes - StoredSize.Of(message);

    /// <summary>The next packet id not in use by a message in flight [MQTT-2.2.1-3].</summary>
    private ushort NextPacketId()
    {
        while (true)
        {
            var id = State.LastPacketId == ushort.MaxValue ? (ushort)1 : (ushort)(State.LastPacketId + 1);
            State.LastPacketId = id;
            if (IndexInFlight(id) < 0)
            {
                return id;
            }
        }
    }

    private int IndexInFlight(ushort packetId)
    {
        if (State.InFlightCount == 0)
        {
            return -1;
        }

        var inFlight = State.InFlight;
        for (var i = 0; i < inFlight.Count; i++)
        {
            if (inFlight[i].PacketId == packetId)
            {
                return i;
            }
        }

        return -1;
    }
}
