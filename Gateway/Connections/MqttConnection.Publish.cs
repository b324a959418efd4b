using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    // The lists and sets below are created by the first packet that needs them: a connection that only keeps its
    // session alive (most of an idle broker's connections) holds none.

    // PUBLISH packets (QoS 0 and 1) read in one go, in order; routed together when the read is done.
    private List<MqttMessage>? _batch;

    // QoS 2 PUBLISH packets read in one go, in order, and PUBREL packets likewise: each run goes to the session in
    // one call. Only one of the three lists holds packets at a time: a packet of another kind first sends the run
    // before it, so the grains see the packets, and the client its acknowledgements, in the order they came.
    private List<ExactlyOncePublish>? _exactlyOnce;
    private List<ushort>? _releases;

    // Client acknowledgements (PUBACK, PUBREC, PUBCOMP) read in one go.
    private List<ClientAck>? _acks;

    // Inbound QoS 2 packet ids with PUBREC sent and PUBREL not yet received, counted against our Receive Maximum.
    private HashSet<ushort>? _awaitingRelease;

    // The QoS 1 messages of the batch: their packet ids and places in the batch, to be acknowledged once routed.
    private List<(ushort PacketId, int Index)>? _pendingPubAcks;

    // QoS 2 messages held for the client: PUBREC sent and no PUBREL yet, or read and not yet routed.
    private int AwaitingReleaseCount => (_awaitingRelease?.Count ?? 0) + (_exactlyOnce?.Count ?? 0);

    private bool HasExactlyOnceRun => _exactlyOnce is { Count: > 0 } || _releases is { Count: > 0 };

    private ValueTask HandlePublishAsync(PublishPacket packet)
    {
        var topic = ResolveTopicAlias(packet);
        CheckPublishLimits(topic);
        if (Version == MqttProtocolVersion.V500 && packet.Qos != QualityOfService.AtMostOnce
            && (_pendingPubAcks?.Count ?? 0) + AwaitingReleaseCount >= _services.Options.ReceiveMaximum && _awaitingRelease?.Contains(packet.PacketId) != true)
        {
            // More unacknowledged QoS 1/2 messages than the Receive Maximum we announced [MQTT-3.3.4-8].
            throw new MqttProtocolException(ReasonCode.ReceiveMaximumExceeded, "more QoS 1 and 2 messages in flight than Receive Maximum");
        }

        if (packet.Properties?.PayloadFormatIndicator == 1 && !IsUtf8(packet))
        {
            // The payload says it is UTF-8 and is not (3.3.2.3.2): refused, and nobody else receives it.
            return new ValueTask(RefuseInvalidPayloadAsync(packet.Qos, packet.PacketId, topic));
        }

        CountReceived(packet, topic);
        if (!MayPublish(topic))
        {
            return new ValueTask(RefusePublishAsync(packet.Qos, packet.PacketId, topic));
        }

        var message = MessageMapping.ToMessage(packet, topic, ClientId!);
        if (packet.Qos == QualityOfService.ExactlyOnce)
        {
            return AddExactlyOnce(packet.PacketId, message);
        }

        if (HasExactlyOnceRun)
        {
            return new ValueTask(FlushThenAddAsync(packet.Qos, packet.PacketId, message));
        }

        AddToBatch(packet.Qos, packet.PacketId, message);
        return ValueTask.CompletedTask;
    }

    private async Task FlushThenAddAsync(QualityOfService qos, ushort packetId, MqttMessage message)
    {
        await FlushBatchAsync();
        AddToBatch(qos, packetId, message);
    }

    private void AddToBatch(QualityOfService qos, ushort packetId, MqttMessage message)
    {
        var batch = _batch ??= [];
        batch.Add(message);
        if (qos == QualityOfService.AtLeastOnce)
        {
            (_pendingPubAcks ??= []).Add((packetId, batch.Count - 1));
        }
    }

    // Topic aliases this client set, by alias (index 0 unused).
    private string?[]? _inboundAliases;

    /// <summary>v5 topic aliases from the client [MQTT-3.3.2-8 to 3.3.2-12].</summary>
    private string ResolveTopicAlias(in PublishPacket packet)
    {
        if (packet.Properties?.TopicAlias is not { } alias)
        {
            return packet.Topic;
        }

        if (alias > _services.Options.TopicAliasMaximum)
        {
            throw new MqttProtocolException(ReasonCode.TopicAliasInvalid, $"topic alias {alias} is above the maximum {_services.Options.TopicAliasMaximum}");
        }

        _inboundAliases ??= new string?[_services.Options.TopicAliasMaximum + 1];
        if (packet.Topic.Length > 0)
        {
            _inboundAliases[alias] = packet.Topic;
            return packet.Topic;
        }

        return _inboundAliases[alias] ?? throw new MqttProtocolException(ReasonCode.ProtocolError, $"topic alias {alias} was never set");
    }

    private static bool IsUtf8(in PublishPacket packet)
    {
        var payload = packet.Payload;
        if (payload.IsSingleSegment)
        {
            return System.Text.Unicode.Utf8.IsValid(payload.FirstSpan);
        }

        return System.Text.Unicode.Utf8.IsValid(System.Buffers.BuffersExtensions.ToArray(payload));
    }

    private async Task RefuseInvalidPayloadAsync(QualityOfService qos, ushort packetId, string topic)
    {
        Logger.LogInformation("Refused a message from {ClientId} on {Topic}: Payload Format Indicator says UTF-8 and it is not", ClientId, topic);
        if (qos == QualityOfService.AtMostOnce)
        {
            throw new MqttProtocolException(ReasonCode.PayloadFormatInvalid, "payload is not UTF-8 although its Payload Format Indicator says so");
        }

        // Acknowledgements keep the order of the PUBLISH packets: what came before is answered first.
        await FlushBatchAsync();
        var type = qos == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec;
        Enqueue(Outbound.ForAck(new PacketIdAck(type, packetId, ReasonCode.PayloadFormatInvalid, Problem("payload is not UTF-8 although its Payload Format Indicator says so"))));
    }

    /// <summary>
    /// Routes the batch: one call per topic grain, in order per topic, then PUBACKs in the order the PUBLISH
    /// packets came [MQTT-4.6.0-2]. A message the grains did not take is tried again (see <see cref="RetryAsync"/>);
    /// if it still is not taken it is not acknowledged: the connection closes so that the client resends it.
    /// </summary>
    private async Task FlushBatchAsync()
    {
        if (_exactlyOnce is { Count: > 0 })
        {
            await FlushExactlyOnceAsync();
        }

        if (_releases is { Count: > 0 })
        {
            await FlushReleasesAsync();
        }

        if (_batch is { Count: > 0 } batch)
        {
            int[] matched;
            try
            {
                matched = await RouteBatchAsync(batch);
            }
            catch (Exception ex) when (ex is not MqttProtocolException)
            {
                Logger.LogWarning(ex, "Could not route {Count} messages from {ClientId}", batch.Count, ClientId);
                batch.Clear();
                _pendingPubAcks?.Clear();
                Close(ReasonCode.ServerUnavailable, "messages could not be routed");
                return;
            }

            if (_pendingPubAcks is { } pendingPubAcks)
            {
                foreach (var (packetId, index) in pendingPubAcks)
                {
                    var reason = matched[index] == 0 && Version == MqttProtocolVersion.V500 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
                    Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubAck, packetId, reason)));
                }

                pendingPubAcks.Clear();
            }

            batch.Clear();
        }

        if (_acks is { Count: > 0 })
        {
            await FlushAcksAsync();
        }
    }

    /// <summary>
    /// Returns, per message of the batch, how many subscriptions matched it. Only the topics whose call failed are
    /// tried again, and without their QoS 0 messages: those may have been routed already, and at most once means
    /// never twice. The read loop waits meanwhile, so order per topic is kept.
    /// </summary>
    private async Task<int[]> RouteBatchAsync(List<MqttMessage> batch)
    {
        var matched = new int[batch.Count];
        var groups = TopicGroups.Of(batch);
        var started = Environment.TickCount64;
        RetryState? retry = null;
        while (true)
        {
            var failed = await Task.WhenAll(groups.Select(async group =>
            {
                try
                {
                    var count = await (_topicGrains ??= new LastTopicGrain(_services.Grains)).Of(batch[group[0]].Topic).Publish([.. group.Select(i => batch[i])]);
                    foreach (var i in group)
                    {
                        matched[i] = count;
                    }

                    return null;
                }
                catch (Exception ex) when (ex is not MqttProtocolException)
                {
                    return ex;
                }
            }));

            var firstFailure = failed.FirstOrDefault(f => f is not null);
            if (firstFailure is null)
            {
                return matched;
            }

            groups = [.. groups.Where((_, i) => failed[i] is not null)
                .Select(g => g.Where(i => batch[i].Qos > 0).ToList())
                .Where(g => g.Count > 0)];
            if (groups.Count == 0)
            {
                return matched;
            }

            await (retry ??= new RetryState(started, _services.Options.PublishRetryTimeout)).WaitAsync(firstFailure, "messages", this);
        }
    }

    /// <summary>
    /// A call to the cluster, tried again with backoff while it fails (a silo was lost and its grains are moving,
    /// the cluster is briefly unreachable), for at most <c>Mqtt:PublishRetryTimeout</c>; then the last failure is
    /// thrown. Only for calls that may safely run twice.
    /// </summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> call, string what)
    {
        // The retry's state exists only once a call failed; the patience counts from the first attempt.
        var started = Environment.TickCount64;
        RetryState? retry = null;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (ex is not MqttProtocolException and not OperationCanceledException)
            {
                await (retry ??= new RetryState(started, _services.Options.PublishRetryTimeout)).WaitAsync(ex, what, this);
            }
        }
    }

    private sealed class RetryState(long started, TimeSpan patience)
    {
        private readonly long _deadline = started + (long)patience.TotalMilliseconds;
        private int _attempt;
        private TimeSpan _delay = TimeSpan.FromMilliseconds(100);

        /// <summary>Waits before the next attempt, or rethrows <paramref name="failure"/> when patience ran out or the connection is closing.</summary>
        public async Task WaitAsync(Exception failure, string what, MqttConnection connection)
        {
            _attempt++;
            if (Environment.TickCount64 + (long)_delay.TotalMilliseconds > _deadline || connection.IsClosing)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            connection.Logger.LogWarning("Could not hand {What} from {ClientId} to the cluster (attempt {Attempt}, trying again in {Delay} ms): {Error}", what, connection.ClientId, _attempt, (int)_delay.TotalMilliseconds, failure.Message);
            await Task.Delay(_delay, connection.ClosingToken);
            _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    private ValueTask AddExactlyOnce(ushort packetId, MqttMessage message)
    {
        // v3 has no Receive Maximum to announce, but the same bound keeps a client from holding unbounded state.
        if (_awaitingRelease?.Contains(packetId) != true && AwaitingReleaseCount >= _services.Options.ReceiveMaximum)
        {
            throw new MqttProtocolException(ReasonCode.ReceiveMaximumExceeded, "more QoS 2 messages in flight than Receive Maximum");
        }

        if (_batch is { Count: > 0 } || _releases is { Count: > 0 })
        {
            return new ValueTask(FlushThenAddExactlyOnceAsync(packetId, message));
        }

        (_exactlyOnce ??= []).Add(new ExactlyOncePublish(packetId, message));
        return ValueTask.CompletedTask;
    }

    private async Task FlushThenAddExactlyOnceAsync(ushort packetId, MqttMessage message)
    {
        await FlushBatchAsync();
        (_exactlyOnce ??= []).Add(new ExactlyOncePublish(packetId, message));
    }

    /// <summary>The QoS 2 messages read since the last run went out: one session call, then a PUBREC for each.</summary>
    private async Task FlushExactlyOnceAsync()
    {
        var messages = _exactlyOnce!.ToArray();
        _exactlyOnce.Clear();
        byte[] reasons;
        try
        {
            // Safe to repeat: the session publishes a packet id it already holds under the same message id, which
            // subscribing sessions recognise.
            reasons = await RetryAsync(() => _session!.PublishExactlyOnce(Id, messages), "QoS 2 messages");
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "Could not route {Count} QoS 2 messages from {ClientId}", messages.Length, ClientId);
            Close(ReasonCode.ServerUnavailable, "message could not be routed");
            return;
        }

        if (Volatile.Read(ref _closeRequested) != 0)
        {
            // The session moved on (it recovered from a lost silo and closed this connection): no PUBREC, the
            // client sends the messages again on its next connection.
            return;
        }

        for (var i = 0; i < messages.Length; i++)
        {
            (_awaitingRelease ??= []).Add(messages[i].PacketId);
            Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubRec, messages[i].PacketId, Version == MqttProtocolVersion.V500 ? (ReasonCode)reasons[i] : ReasonCode.Success)));
        }
    }

    private ValueTask HandlePubRel(PacketIdAck release)
    {
        if (_batch is { Count: > 0 } || _exactlyOnce is { Count: > 0 })
        {
            return new ValueTask(FlushThenAddReleaseAsync(release.PacketId));
        }

        (_releases ??= []).Add(release.PacketId);
        return ValueTask.CompletedTask;
    }

    private async Task FlushThenAddReleaseAsync(ushort packetId)
    {
        await FlushBatchAsync();
        (_releases ??= []).Add(packetId);
    }

    /// <summary>The PUBRELs read since the last run went out: one session call, then a PUBCOMP for each.</summary>
    private async Task FlushReleasesAsync()
    {
        var packetIds = _releases!.ToArray();
        _releases.Clear();
        foreach (var packetId in packetIds)
        {
            _awaitingRelease?.Remove(packetId);
        }

        var reasons = await RetryAsync(() => _session!.Release(Id, packetIds), "PUBRELs");
        for (var i = 0; i < packetIds.Length; i++)
        {
            var code = Version == MqttProtocolVersion.V500 ? (ReasonCode)reasons[i] : ReasonCode.Success;
            Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubComp, packetIds[i], code, code == ReasonCode.PacketIdentifierNotFound ? Problem("no QoS 2 message awaits PUBREL with this packet id") : null)));
        }
    }

    private void AddClientAck(PacketIdAck ack) => (_acks ??= []).Add(new ClientAck((byte)ack.Type, ack.PacketId, (byte)ack.ReasonCode));

    private async Task FlushAcksAsync()
    {
        var acks = _acks!.ToArray();
        _acks.Clear();
        await RetryAsync(async () =>
        {
            await _session!.Acknowledge(Id, acks);
            return true;
        }, "acknowledgements");
        foreach (var ack in acks)
        {
            // PUBREC is answered with PUBREL, unless it reported a failure (4.3.3).
            if (ack.PacketType == (byte)PacketType.PubRec && ack.ReasonCode < 0x80)
            {
                Enqueue(Outbound.ForAck(new PacketIdAck(PacketType.PubRel, ack.PacketId)));
            }
        }
    }
}
