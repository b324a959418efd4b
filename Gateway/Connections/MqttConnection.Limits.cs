using System.Text;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The per-client limits of <c>Mqtt:Limits</c>: CONNECT admission, publish rate, topic length and levels,
/// subscriptions per session. Every hit is counted and logged through <see cref="ConnectionLimits.Report"/>.
/// </summary>
public sealed partial class MqttConnection
{
    // How long a closing connection may take to write what is left before it is aborted.
    private static readonly TimeSpan WritePatience = TimeSpan.FromSeconds(2);

    private TokenBucket _publishRate;
    private bool _publishRateStarted;
    private string? _lastCheckedTopic;

    // The topic filters the session holds, once this connection subscribed (null until then: most devices never do).
    private HashSet<string>? _subscriptions;

    /// <summary>The gateway's limits; every connection shares one.</summary>
    private ConnectionLimits Limits => _services.Limits;

    private LimitsOptions LimitSettings => Limits.Options;

    /// <summary>Until CONNECT is accepted, a client that has not identified itself may send only small packets.</summary>
    private int MaxInboundPacketSize => _connected ? _services.Options.MaxPacketSize : Math.Min(_services.Options.MaxPacketSize, LimitSettings.MaxConnectPacketSize);

    /// <summary>
    /// Refuses a CONNECT over the connection count (v5 CONNACK 0x89 Server Busy) or a CONNECT rate (0x9F Connection
    /// Rate Exceeded); v3 clients get return code 3, Server Unavailable. Not logged per connection: a flood would
    /// flood the log, so <see cref="ConnectionLimits"/> logs the limit instead.
    /// </summary>
    private async Task<bool> RefusedByLimitsAsync()
    {
        if (Limits.AdmitConnect(_context.RemoteEndPoint) is not { } refused)
        {
            return false;
        }

        var output = _context.Transport.Output;
        var connAck = Version == MqttProtocolVersion.V500
            ? new ConnAckPacket { ReasonCode = refused.Reason, ReasonString = _requestProblemInformation ? "limit " + refused.Limit : null }
            : new ConnAckPacket { ReasonCode = ReasonCode.ServerUnavailable };
        MqttEncoder.WriteConnAck(output, connAck, Version);
        await output.FlushAsync();
        _disconnectReceived = true;
        _endReason = "refused: limit " + refused.Limit;
        return true;
    }

    /// <summary>Counts the limits the codec and the protocol checks enforce by throwing.</summary>
    private void CountViolation(MqttProtocolException ex)
    {
        switch (ex.ReasonCode)
        {
            case ReasonCode.PacketTooLarge:
                Limits.Report(LimitNames.PacketSize, $"connection {Id} ({ClientId ?? _context.RemoteEndPoint?.ToString()}): {ex.Message}");
                break;
            case ReasonCode.ReceiveMaximumExceeded:
                Limits.Report(LimitNames.Inflight, $"client {ClientId}: {ex.Message}");
                break;
        }
    }

    /// <summary>
    /// Checks one PUBLISH against the publish rate (v5: DISCONNECT 0x96 Message Rate Too High) and the topic's length
    /// and levels (v5: DISCONNECT 0x90 Topic Name Invalid); v3 clients are disconnected.
    /// </summary>
    private void CheckPublishLimits(string topic)
    {
        var settings = LimitSettings;
        if (settings.PublishRate > 0)
        {
            if (!_publishRateStarted)
            {
                _publishRate = new TokenBucket(settings.PublishRate, settings.PublishBurst);
                _publishRateStarted = true;
            }

            if (!_publishRate.TryTake(Environment.TickCount64))
            {
                Limits.Report(LimitNames.PublishRate, $"client {ClientId} published more than {settings.PublishRate} messages/s");
                throw new MqttProtocolException(ReasonCode.MessageRateTooHigh, $"more than {settings.PublishRate} PUBLISH packets a second");
            }
        }

        // A device repeats its topic, and the decoder then hands over the same string: checked once.
        if (ReferenceEquals(topic, _lastCheckedTopic))
        {
            return;
        }

        if (TopicOverLimits(topic) is { } broken)
        {
            Limits.Report(broken.Limit, $"client {ClientId} published to a topic of {broken.Detail}");
            throw new MqttProtocolException(ReasonCode.TopicNameInvalid, $"topic name of {broken.Detail}");
        }

        _lastCheckedTopic = topic;
    }

    private (string Limit, string Detail)? TopicOverLimits(string topicOrFilter)
    {
        var settings = LimitSettings;

        // At most 3 UTF-8 bytes per UTF-16 unit: short strings need no count.
        if (topicOrFilter.Length * 3 > settings.MaxTopicLength && Encoding.UTF8.GetByteCount(topicOrFilter) is var bytes && bytes > settings.MaxTopicLength)
        {
            return (LimitNames.TopicLength, $"{bytes} bytes, more than {settings.MaxTopicLength}");
        }

        var levels = topicOrFilter.AsSpan().Count('/') + 1;
        if (levels > settings.MaxTopicLevels)
        {
            return (LimitNames.TopicLevels, $"{levels} levels, more than {settings.MaxTopicLevels}");
        }

        return null;
    }

    /// <summary>
    /// SUBSCRIBE within the limits: a filter too long or too deep is refused (v5 SUBACK 0x8F Topic Filter Invalid),
    /// and a new filter beyond the session's subscription quota too (0x97 Quota Exceeded); v3 SUBACK says 0x80 for
    /// both. Only the filters admitted reach the session.
    /// </summary>
    private async Task<SubscribeResult> SubscribeWithinLimitsAsync(SubscriptionRequest[] requests, uint? subscriptionIdentifier)
    {
        var settings = LimitSettings;
        if (settings.MaxSubscriptionsPerClient > 0 && _subscriptions is null)
        {
            // A resumed session may hold subscriptions already: learned once, at the first SUBSCRIBE.
            var info = await _session!.GetInfo();
            _subscriptions = new HashSet<string>(info.Subscriptions, StringComparer.Ordinal);
        }

        var codes = new byte[requests.Length];
        var admitted = new List<int>(requests.Length);
        var adding = 0;
        HashSet<string>? added = null;
        for (var i = 0; i < requests.Length; i++)
        {
            var filter = requests[i].Filter;
            if (TopicOverLimits(filter) is { } broken)
            {
                Limits.Report(broken.Limit, $"client {ClientId} subscribed to a filter of {broken.Detail}");
                codes[i] = (byte)ReasonCode.TopicFilterInvalid;
                continue;
            }

            if (_subscriptions is not null && !_subscriptions.Contains(filter) && (added ??= new(StringComparer.Ordinal)).Add(filter))
            {
                if (_subscriptions.Count + adding >= settings.MaxSubscriptionsPerClient)
                {
                    added.Remove(filter);
                    Limits.Report(LimitNames.Subscriptions, $"client {ClientId} holds {_subscriptions.Count + adding} subscriptions, the most allowed");
                    codes[i] = (byte)ReasonCode.QuotaExceeded;
                    continue;
                }

                adding++;
            }

            admitted.Add(i);
        }

        if (admitted.Count == 0)
        {
            return new SubscribeResult(codes, []);
        }

        var forward = admitted.Count == requests.Length ? requests : [.. admitted.Select(i => requests[i])];
        var result = await _session!.Subscribe(Id, forward, subscriptionIdentifier);
        for (var k = 0; k < admitted.Count; k++)
        {
            var i = admitted[k];
            codes[i] = result.ReasonCodes[k];
            if (codes[i] < 0x80)
            {
                _subscriptions?.Add(requests[i].Filter);
            }
        }

        return new SubscribeResult(codes, result.Retained);
    }

    /// <summary>UNSUBSCRIBE frees the quota of the filters it removed.</summary>
    private void ForgetSubscriptions(IReadOnlyList<string> filters)
    {
        if (_subscriptions is null)
        {
            return;
        }

        foreach (var filter in filters)
        {
            _subscriptions.Remove(filter);
        }
    }
}
