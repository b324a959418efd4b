using Microsoft.Extensions.Options;
using Orleans.Hosting;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// The single authority for one client id: connection ownership, subscriptions, in-flight and queued messages,
/// the will and expiry. State is written only while the session outlives its connection (persistent session);
/// a clean session lives in memory and touches no storage.
/// </summary>
public sealed partial class SessionGrain : Grain, ISessionGrain, IRemindable
{
    private const string WillReminder = "will";
    private const string ExpiryReminder = "expiry";

    private readonly IPersistentState<SessionState> _stored;
    private readonly GatewayDeliveryBatcher _batcher;
    private readonly SessionOptions _options;
    private readonly TimeSpan _minimumReminderPeriod;
    private readonly ILogger<SessionGrain> _logger;
    private GroupCommit? _commit;
    private int _receiveMaximum;

    // The will of a connection taken over, until its gateway reports how that connection ended.
    private (long ConnectionId, WillSpec Will)? _takenOverWill;

    public SessionGrain(
        [PersistentState("session", StorageNames.Mqtt)] IPersistentState<SessionState> stored,
        GatewayDeliveryBatcher batcher,
        IOptions<SessionOptions> options,
        IOptions<ReminderOptions> reminderOptions,
        ILogger<SessionGrain> logger)
    {
        _stored = stored;
        _batcher = batcher;
        _options = options.Value;
        _minimumReminderPeriod = reminderOptions.Value.MinimumReminderPeriod;
        _logger = logger;
        _receiveMaximum = _options.MaxInflightMessages;
        SiloMetrics.SessionActivated(this);
    }

    /// <summary>
    /// Read from the grain id once: each read makes a new string, and the session directory and the gateway's lease
    /// keep the one they are given for as long as the client is connected, parked sessions too.
    /// </summary>
    private string ClientId => _clientId ??= this.GetPrimaryKeyString();

    private string? _clientId;

    /// <summary>Writes of the stored state, grouped; created by the first write (a clean session never writes).</summary>
    private GroupCommit Commit => _commit ??= new GroupCommit(() => _stored.WriteStateAsync());

    private SessionState State => _observed = _stored.State;

    /// <summary>The session outlives its connection, so its state is stored.</summary>
    private bool IsPersistent => State.SessionExpiryInterval > 0;

    /// <summary>The silo this activation lives on.</summary>
    private SiloAddress Host => GrainContext.Address.SiloAddress!;

    public async Task<ConnectResult> Connect(ConnectRequest request)
    {
        var previous = State.Connection;

        // Until this call ends, deliveries that interleave are queued, to be sent after CONNACK.
        State.Connection = null;
        if (previous is not null && previous.ConnectionId != request.Connection.ConnectionId)
        {
            await TakeOverAsync(previous, request.CleanStart);
        }
        else if (State.Will is not null)
        {
            // The client is back before its will delay passed: the will is not sent [MQTT-3.1.3-9].
            State.Will = null;
        }

        await UnregisterRemindersAsync();

        bool sessionPresent;
        if (request.CleanStart)
        {
            await DiscardSessionAsync();
            sessionPresent = false;
        }
        else
        {
            sessionPresent = State.Exists;
        }

        State.Exists = true;
        State.ProtocolVersion = request.ProtocolVersion;
        State.SessionExpiryInterval = request.SessionExpiryInterval;
        State.Will = request.Will;
        State.DisconnectedAtUtc = null;
        State.Connection = request.Connection;
        _receiveMaximum = Math.Min(request.ReceiveMaximum == 0 ? ushort.MaxValue : request.ReceiveMaximum, _options.MaxInflightMessages);

        // A quiet connected session is parked when Orleans collects it (its state goes to storage, see
        // SessionGrain.Parking); with parking off it stays in memory for as long as its client is connected.
        if (_options.ParkAfter == TimeSpan.Zero)
        {
            DelayDeactivation(TimeSpan.MaxValue);
        }

        var pending = new List<Delivery>();
        ResendInFlight(request.Connection, pending);
        FillWindow(request.Connection, pending);

        // The dead-man's switch: stored before CONNACK when the session must outlive the connection's gateway.
        var attached = AttachAsync(request.Connection, durable: IsPersistent || request.Will is not null);
        if (IsPersistent)
        {
            await Task.WhenAll(Commit.CommitAsync(), attached);
        }
        else if (_stored.RecordExists)
        {
            await Task.WhenAll(ClearStoredStateAsync(), attached);
        }
        else
        {
            await attached;
        }

        _logger.LogDebug("Session {ClientId} connected (present: {SessionPresent}, pending: {Pending})", ClientId, sessionPresent, pending.Count);
        ReportToDirectory();
        return new ConnectResult(sessionPresent, [.. pending], State.SessionExpiryInterval, IsPersistent ? null : Host);
    }

    public async Task Disconnect(string gatewayId, long connectionId, DisconnectKind kind, uint? sessionExpiryInterval)
    {
        if (State.Connection is not { } current || current.ConnectionId != connectionId || current.GatewayId != gatewayId)
        {
            if (_takenOverWill is { } pending && pending.ConnectionId == connectionId)
            {
                _takenOverWill = null;
                if (kind != DisconnectKind.Normal)
                {
                    await PublishWillAsync(pending.Will);
                }
            }

            return;
        }

        State.Connection = null;
        State.DisconnectedAtUtc = DateTime.UtcNow;
        DelayDeactivation(TimeSpan.Zero);
        Detach(current);
        if (sessionExpiryInterval is { } expiry)
        {
            State.SessionExpiryInterval = expiry;
        }

        if (kind == DisconnectKind.Normal)
        {
            // A normal DISCONNECT deletes the will without publishing it [MQTT-3.14.4-3].
            State.Will = null;
        }

        if (State.SessionExpiryInterval == 0)
        {
            await EndSessionAsync();
            return;
        }

        if (State.Will is { } will)
        {
            if (will.DelaySeconds == 0)
            {
                State.Will = null;
                await PublishWillAsync(will);
            }
            else if (will.DelaySeconds < State.SessionExpiryInterval)
            {
                await RegisterReminderAsync(WillReminder, TimeSpan.FromSeconds(will.DelaySeconds));
            }

            // Otherwise the session ends first, and the will goes out then [MQTT-3.1.3-9].
        }

        if (State.SessionExpiryInterval != SessionExpiry.Never)
        {
            await RegisterReminderAsync(ExpiryReminder, TimeSpan.FromSeconds(State.SessionExpiryInterval));
        }

        ReportToDirectory();
        await Commit.CommitAsync();
    }

    public async Task EndLost(string gatewayId, long connectionId, WillSpec will)
    {
        if (State.Connection is { } current && current.ConnectionId == connectionId && current.GatewayId == gatewayId)
        {
            await Disconnect(gatewayId, connectionId, DisconnectKind.Abnormal, null);
            return;
        }

        // The session ended with its silo (expiry 0): its will goes out now, whatever came after [MQTT-3.1.2-8].
        _logger.LogInformation("The session of {ClientId} was lost with its silo and its connection {ConnectionId} has ended", ClientId, connectionId);
        await PublishWillAsync(will);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await UnregisterReminderAsync(reminderName);
        if (State.Connection is not null)
        {
            return;
        }

        if (reminderName == WillReminder && State.Will is { } will)
        {
            State.Will = null;
            await PublishWillAsync(will);
            await SaveAsync();
        }
        else if (reminderName == ExpiryReminder && State.Exists)
        {
            _logger.LogInformation("Session {ClientId} expired", ClientId);
            await EndSessionAsync();
        }
    }

    private async Task TakeOverAsync(ConnectionRef previous, bool cleanStart)
    {
        _logger.LogInformation("Session {ClientId} taken over from connection {ConnectionId} on gateway {GatewayId}", ClientId, previous.ConnectionId, previous.GatewayId);

        // v3.1.1: no will on take-over. v5: the old connection's will goes out when it closes abnormally, unless the
        // session continues within the will delay [MQTT-3.1.4-3, 3.1.3.2.2]. Whether it closed abnormally is known
        // only when its gateway reports the end (it may have sent DISCONNECT just before).
        if (State.Will is { } will)
        {
            State.Will = null;
            if (State.ProtocolVersion == (byte)MqttProtocolVersion.V500 && (will.DelaySeconds == 0 || cleanStart))
            {
                _takenOverWill = (previous.ConnectionId, will);
            }
        }

        Detach(previous);
        try
        {
            await previous.Gateway.Close(previous.ConnectionId, (byte)ReasonCode.SessionTakenOver).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex)
        {
            // Its gateway is gone, and the connection with it: nobody will report its end.
            _logger.LogWarning(ex, "Could not close the previous connection of {ClientId}", ClientId);
            if (_takenOverWill is { } pending && pending.ConnectionId == previous.ConnectionId)
            {
                _takenOverWill = null;
                await PublishWillAsync(pending.Will);
            }
        }
    }

    /// <summary>The session ends: its will goes out, its subscriptions leave the index, its state is deleted.</summary>
    private async Task EndSessionAsync()
    {
        if (State.Will is { } will)
        {
            State.Will = null;
            await PublishWillAsync(will);
        }

        await UnregisterRemindersAsync();
        await DiscardSessionAsync();
        ReportToDirectory();
        DeactivateOnIdle();
    }

    private async Task DiscardSessionAsync()
    {
        if (State.SubscriptionCount > 0)
        {
            await Task.WhenAll(State.Subscriptions.Keys.Select(RemoveFromIndexAsync));
        }

        await HandOverSharedMessagesAsync();

        if (State.DroppedMessages > 0)
        {
            _logger.LogInformation("Session {ClientId} ended having dropped {Dropped} messages", ClientId, State.DroppedMessages);
        }

        _stored.State = new SessionState { Connection = State.Connection };
        if (_stored.RecordExists)
        {
            await ClearStoredStateAsync();
        }
    }

    /// <summary>
    /// Deletes the stored record and keeps the state in memory as it is (the storage providers replace it with a new,
    /// empty state when they clear).
    /// </summary>
    private async Task ClearStoredStateAsync()
    {
        var state = _stored.State;
        await _stored.ClearStateAsync();
        _stored.State = state;
    }

    /// <summary>
    /// Messages a shared subscription chose this session for, and that its client has not received, go to another
    /// member of the group rather than being lost with the session (4.8.2).
    /// </summary>
    private async Task HandOverSharedMessagesAsync()
    {
        if (State.InFlightCount == 0 && State.QueueCount == 0)
        {
            return;
        }

        var held = State.InFlight.Where(m => !m.Released).Select(m => m.Message).Concat(State.Queue).Where(m => m.SharedVia is not null).ToList();
        foreach (var message in held)
        {
            try
            {
                await GrainFactory.Reference<ITopicGrain>(message.Message.Topic).RedeliverShared(message.SharedVia!, message.Message, ClientId);
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not hand a message on {Topic} from {ClientId} to another member of {Group}", message.Message.Topic, ClientId, message.SharedVia);
            }
        }
    }

    private async Task PublishWillAsync(WillSpec will)
    {
        _logger.LogInformation("Publishing the will of {ClientId} to {Topic}", ClientId, will.Message.Topic);
        try
        {
            // The will's Message Expiry Interval counts from its publication (3.1.3.2.4).
            var message = will.Message.Properties?.MessageExpiryInterval is { } seconds
                ? will.Message with { ExpiresAtUtc = DateTime.UtcNow.AddSeconds(seconds) }
                : will.Message;
            await GrainFactory.Reference<ITopicGrain>(message.Topic).Publish([message]);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Could not publish the will of {ClientId}", ClientId);
        }
    }

    private Task SaveAsync() => IsPersistent ? Commit.CommitAsync() : Task.CompletedTask;

    private async Task RegisterReminderAsync(string name, TimeSpan dueTime)
    {
        var period = dueTime < _minimumReminderPeriod ? _minimumReminderPeriod : dueTime;
        State.RemindersPending = true;
        await this.RegisterOrUpdateReminder(name, dueTime, period);
    }

    /// <summary>Reminders are storage rows: look them up only when this session registered some.</summary>
    private async Task UnregisterRemindersAsync()
    {
        if (State.RemindersPending)
        {
            await UnregisterReminderAsync(WillReminder);
            await UnregisterReminderAsync(ExpiryReminder);
            State.RemindersPending = false;
        }
    }

    private async Task UnregisterReminderAsync(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task<SessionInfo> GetInfo() => Task.FromResult(new SessionInfo(
        State.Exists,
        State.Connection is not null,
        State.Connection?.GatewayId,
        [.. State.Subscriptions.Keys],
        State.InFlightCount,
        State.QueueCount,
        State.DroppedMessages,
        State.SessionExpiryInterval,
        HeldBytes));

    private bool IsCurrent(long connectionId) => State.Connection?.ConnectionId == connectionId;
}
