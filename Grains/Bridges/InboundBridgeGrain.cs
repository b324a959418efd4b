using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Grains;

/// <summary>
/// Queue → MQTT for one queue. Its single activation is the queue's one reader across the cluster. Messages are
/// received in batches (hidden from other readers for the rule's visibility timeout), published through the topic
/// grains like any publish (QoS 1/2 copies are held by their sessions when the call returns), and deleted only then.
/// A message that cannot be published is received again after the timeout; once it has been received
/// <see cref="InboundRule.MaxDequeueCount"/> times, or at once if it can never be published (not an envelope, an
/// invalid topic), it moves to <c>{queue}-poison</c> with the reason.
/// </summary>
[Reentrant]
public sealed class InboundBridgeGrain(
    BridgeQueues queues,
    IOptions<BridgeOptions> options,
    ILogger<InboundBridgeGrain> logger) : Grain, IInboundBridgeGrain
{
    /// <summary>Messages one receive call returns at most (the service's limit).</summary>
    private const int ReceiveBatch = 32;

    private static readonly TimeSpan LagInterval = TimeSpan.FromSeconds(5);

    private readonly BridgeOptions _options = options.Value;

    // The last failure of each message still in the queue, for the poison queue's reason.
    private readonly Dictionary<string, string> _lastErrors = [];
    private InboundRule? _rule;
    private QueueClient _queue = null!;
    private QueueClient _poison = null!;
    private IGrainTimer? _timer;
    private bool _polling;
    private bool _created;
    private int _failuresInARow;
    private DateTime _lagMeasuredAtUtc;

    private long _forwarded;
    private long _failed;
    private long _poisoned;
    private long _lag;

    private string QueueName => this.GetPrimaryKeyString();

    private string PublisherId => BridgeClientIds.Inbound(QueueName);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _rule = _options.InboundRuleOf(QueueName);
        if (_rule is not null)
        {
            _queue = queues.Get(_rule.Queue);
            _poison = queues.Get(_rule.PoisonQueue);
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        BridgeMetrics.RemoveLag(BridgeMetrics.Inbound, QueueName);
        return Task.CompletedTask;
    }

    public Task Start()
    {
        if (_rule is not null && _timer is null)
        {
            _timer = this.RegisterGrainTimer(PollAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.PollInterval) { Interleave = true, KeepAlive = true });
        }

        return Task.CompletedTask;
    }

    public Task<BridgeInfo> GetInfo() => Task.FromResult(new BridgeInfo(_timer is not null, _forwarded, _failed, _poisoned, _lag));

    /// <summary>Reads the queue until it is empty; the timer looks again after the poll interval.</summary>
    private async Task PollAsync()
    {
        if (_polling || _rule is not { } rule)
        {
            return;
        }

        _polling = true;
        try
        {
            if (!_created)
            {
                await _queue.CreateIfNotExistsAsync();
                await _poison.CreateIfNotExistsAsync();
                _created = true;
            }

            while (true)
            {
                QueueMessage[] batch = (await _queue.ReceiveMessagesAsync(ReceiveBatch, rule.VisibilityTimeout)).Value;
                if (batch.Length == 0)
                {
                    break;
                }

                await ProcessAsync(rule, batch);
            }

            if (DateTime.UtcNow - _lagMeasuredAtUtc > LagInterval)
            {
                _lagMeasuredAtUtc = DateTime.UtcNow;
                _lag = (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
                BridgeMetrics.SetLag(BridgeMetrics.Inbound, QueueName, _lag);
            }

            _failuresInARow = 0;
        }
        catch (Exception ex)
        {
            _failed++;
            BridgeMetrics.Failed(BridgeMetrics.Inbound, QueueName);
            if (_failuresInARow++ % 30 == 0)
            {
                logger.LogWarning("Bridge from queue {Queue}: reading the queue failed ({Failures} times in a row): {Error}", QueueName, _failuresInARow, ex.Message);
            }
        }
        finally
        {
            _polling = false;
        }
    }

    private async Task ProcessAsync(InboundRule rule, QueueMessage[] batch)
    {
        var now = DateTime.UtcNow;
        var publishable = new List<(QueueMessage Queued, MqttMessage Message)>();
        foreach (var queued in batch)
        {
            if (!BridgeEnvelope.TryRead(queued.Body.ToString(), PublisherId, now, out var message, out var error))
            {
                await PoisonAsync(rule, queued, error!);
                continue;
            }

            if (queued.DequeueCount > rule.MaxDequeueCount)
            {
                var last = _lastErrors.GetValueOrDefault(queued.MessageId, "the bridge stopped before publishing it");
                await PoisonAsync(rule, queued, $"received {queued.DequeueCount - 1} times without being published; last failure: {last}");
                continue;
            }

            if (queued.DequeueCount > 1)
            {
                BridgeMetrics.Retried(BridgeMetrics.Inbound, QueueName);
            }

            publishable.Add((queued, message!));
        }

        // One publish call per topic, in the queue's order; topics in parallel.
        await Task.WhenAll(publishable.GroupBy(p => p.Message.Topic, StringComparer.Ordinal).Select(topic => PublishAsync(rule, topic.Key, [.. topic])));
    }

    private async Task PublishAsync(InboundRule rule, string topic, List<(QueueMessage Queued, MqttMessage Message)> messages)
    {
        try
        {
            await GrainFactory.Reference<ITopicGrain>(topic).Publish([.. messages.Select(m => m.Message)]);
        }
        catch (Exception ex)
        {
            _failed++;
            BridgeMetrics.Failed(BridgeMetrics.Inbound, QueueName);
            logger.LogWarning("Bridge from queue {Queue}: publishing {Count} messages to {Topic} failed: {Error}", QueueName, messages.Count, topic, ex.Message);
            foreach (var (queued, _) in messages)
            {
                if (queued.DequeueCount >= rule.MaxDequeueCount)
                {
                    await PoisonAsync(rule, queued, $"publishing failed {queued.DequeueCount} times; last failure: {ex.Message}");
                }
                else
                {
                    RememberError(queued.MessageId, ex.Message);
                }
            }

            return;
        }

        _forwarded += messages.Count;
        BridgeMetrics.Forwarded(BridgeMetrics.Inbound, QueueName, messages.Count);
        await Task.WhenAll(messages.Select(m => DeleteAsync(m.Queued)));
    }

    /// <summary>A message deleted late or not at all is received again and published again: at least once.</summary>
    private async Task DeleteAsync(QueueMessage queued)
    {
        _lastErrors.Remove(queued.MessageId);
        try
        {
            await _queue.DeleteMessageAsync(queued.MessageId, queued.PopReceipt);
        }
        catch (Exception ex)
        {
            _failed++;
            BridgeMetrics.Failed(BridgeMetrics.Inbound, QueueName);
            logger.LogWarning("Bridge from queue {Queue}: deleting published message {MessageId} failed, it will be published again: {Error}", QueueName, queued.MessageId, ex.Message);
        }
    }

    /// <summary>
    /// Moves a message to the poison queue, wrapped with the reason: <c>{"reason","queue","messageId","dequeueCount",
    /// "insertedOn","body"}</c>. The original body is cut to fit a queue message if need be (then "bodyTruncated").
    /// </summary>
    private async Task PoisonAsync(InboundRule rule, QueueMessage queued, string reason)
    {
        var body = queued.Body.ToString();
        var text = PoisonEnvelope(rule, queued, reason, body, truncated: false);
        if (System.Text.Encoding.UTF8.GetByteCount(text) > BridgeEnvelope.MaxQueueMessageBytes)
        {
            var room = Math.Max(0, body.Length - (System.Text.Encoding.UTF8.GetByteCount(text) - BridgeEnvelope.MaxQueueMessageBytes) - 1024);
            text = PoisonEnvelope(rule, queued, reason, body[..Math.Min(room, body.Length / 2)], truncated: true);
        }

        await _poison.SendMessageAsync(text);
        await _queue.DeleteMessageAsync(queued.MessageId, queued.PopReceipt);
        _lastErrors.Remove(queued.MessageId);
        _poisoned++;
        BridgeMetrics.Poisoned(BridgeMetrics.Inbound, QueueName);
        logger.LogWarning("Bridge from queue {Queue}: message {MessageId} moved to {PoisonQueue}: {Reason}", QueueName, queued.MessageId, rule.PoisonQueue, reason);
    }

    private static string PoisonEnvelope(InboundRule rule, QueueMessage queued, string reason, string body, bool truncated) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["reason"] = reason,
        ["queue"] = rule.Queue,
        ["messageId"] = queued.MessageId,
        ["dequeueCount"] = queued.DequeueCount,
        ["insertedOn"] = queued.InsertedOn,
        ["body"] = body,
        ["bodyTruncated"] = truncated,
    });

    private void RememberError(string messageId, string error)
    {
        if (_lastErrors.Count > 10_000)
        {
            _lastErrors.Clear();
        }

        _lastErrors[messageId] = error;
    }
}
