using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Microsoft.Extensions.Hosting;

namespace OrleansMqtt.Grains;

/// <summary>The connections attached to one gateway's lease, as stored.</summary>
[GenerateSerializer, Alias("mqtt.GatewayLeaseState")]
public sealed class GatewayLeaseState
{
    /// <summary>Connection id to the client id of its session.</summary>
    [Id(0)] public Dictionary<long, string> Connections { get; set; } = [];

    /// <summary>The lease reminder is registered (a storage row: only while connections are attached).</summary>
    [Id(1)] public bool ReminderRegistered { get; set; }

    /// <summary>The duration the gateway last asked for.</summary>
    [Id(2)] public TimeSpan Duration { get; set; }
}

/// <summary>
/// One per gateway: the dead-man's switch of its connections. Renewals are kept in memory only (no storage write per
/// renewal): an activation starts by granting a full lease, so a silo crash delays the switch by at most one lease
/// instead of firing it early. Attachments are stored through a group commit, so many connects share a write.
/// A grain timer checks the lease while the grain is active; one reminder per gateway, registered only while
/// connections are attached, brings the grain back after its silo died.
/// </summary>
[Reentrant]
public sealed class GatewayLeaseGrain : Grain, IGatewayLeaseGrain, IRemindable
{
    private const string ReminderName = "lease";

    private readonly IPersistentState<GatewayLeaseState> _stored;
    private readonly LeaseOptions _options;
    private readonly TimeSpan _minimumReminderPeriod;
    private readonly ILogger<GatewayLeaseGrain> _logger;
    private readonly GroupCommit _commit;
    private readonly List<long> _expired = [];
    private long _lastRenewal = Environment.TickCount64;
    private long _expiredAt;
    private IGrainTimer? _timer;
    private Task? _reminderChange;
    private bool _dirty;
    private bool _expiring;
    private bool _deactivating;
    private readonly CancellationToken _stopping;

    public GatewayLeaseGrain(
        [PersistentState("lease", StorageNames.Index)] IPersistentState<GatewayLeaseState> stored,
        IOptions<LeaseOptions> options,
        IOptions<ReminderOptions> reminderOptions,
        IHostApplicationLifetime lifetime,
        ILogger<GatewayLeaseGrain> logger)
    {
        _stopping = lifetime.ApplicationStopping;
        _stored = stored;
        _options = options.Value;
        _minimumReminderPeriod = reminderOptions.Value.MinimumReminderPeriod;
        _logger = logger;
        _commit = new GroupCommit(WriteAsync);
    }

    private string GatewayId => this.GetPrimaryKeyString();

    private GatewayLeaseState State => _stored.State;

    private TimeSpan Duration => State.Duration > TimeSpan.Zero ? State.Duration : _options.Duration;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A new activation does not know when the gateway last renewed: it grants a whole lease from now.
        _lastRenewal = Environment.TickCount64;
        if (State.Connections.Count > 0)
        {
            _logger.LogInformation("Lease of gateway {GatewayId} resumed with {Count} connections", GatewayId, State.Connections.Count);
            StartChecking();
        }

        return Task.CompletedTask;
    }

    public async Task<long[]> Renew(TimeSpan duration)
    {
        _lastRenewal = Environment.TickCount64;
        if (duration > TimeSpan.Zero && duration != State.Duration)
        {
            State.Duration = duration;
            _dirty = true;
        }

        long[] expired = [.. _expired];
        _expired.Clear();
        if (_dirty)
        {
            // Detachments are written lazily, here: a stale attachment only costs a Disconnect that the session ignores.
            await _commit.CommitAsync();
        }

        return expired;
    }

    public async Task Attach(long connectionId, string clientId, bool durable)
    {
        // The gateway just passed a CONNECT on to the cluster: it is alive.
        _lastRenewal = Environment.TickCount64;
        State.Connections[connectionId] = clientId;
        _dirty = true;
        StartChecking();
        if (durable)
        {
            await Task.WhenAll(EnsureReminderAsync(), _commit.CommitAsync());
        }
    }

    public Task Detach(long connectionId)
    {
        if (State.Connections.Remove(connectionId))
        {
            _dirty = true;
        }

        return Task.CompletedTask;
    }

    public Task<GatewayLeaseInfo> GetInfo() => Task.FromResult(new GatewayLeaseInfo(
        State.Connections.Count,
        TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastRenewal),
        Duration,
        State.ReminderRegistered));

    public Task ReceiveReminder(string reminderName, TickStatus status) => CheckAsync();

    private void StartChecking()
    {
        // Checked several times per lease, so a lapse is noticed within a fraction of the lease after it happens.
        var period = TimeSpan.FromTicks(Math.Clamp(Duration.Ticks / 5, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _timer ??= this.RegisterGrainTimer(CheckAsync, new GrainTimerCreationOptions(period, period) { Interleave = true, KeepAlive = true });
    }

    /// <summary>
    /// A grain that is going away, or whose silo is stopping, checks no more: the reminder service may already be gone,
    /// and a lease that still has connections keeps its reminder, which revives it elsewhere.
    /// </summary>
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true;
        _timer?.Dispose();
        _timer = null;
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    private async Task CheckAsync()
    {
        if (_expiring || _deactivating || _stopping.IsCancellationRequested)
        {
            return;
        }

        var now = Environment.TickCount64;
        var lapsed = now - _lastRenewal > (long)Duration.TotalMilliseconds;
        if (lapsed && State.Connections.Count > 0)
        {
            _expiring = true;
            try
            {
                await ExpireAsync();
            }
            finally
            {
                _expiring = false;
            }
        }

        if (State.Connections.Count == 0)
        {
            if (State.ReminderRegistered)
            {
                await ChangeReminderAsync(register: false);
            }

            // Expired ids wait for the gateway (it may only be cut off) for a few leases; then the grain may go.
            if (_expired.Count == 0 || now - _expiredAt > 10 * (long)Duration.TotalMilliseconds)
            {
                _expired.Clear();
                _timer?.Dispose();
                _timer = null;
            }
        }

        if (_dirty)
        {
            await _commit.CommitAsync();
        }
    }

    /// <summary>
    /// Reports every attached connection to its session as abnormally closed. A connection is forgotten only once
    /// its session heard of it, so a failed call (its silo is down too) is tried again at the next check.
    /// </summary>
    private async Task ExpireAsync()
    {
        var attached = State.Connections.ToArray();
        _logger.LogWarning("Gateway {GatewayId} stopped renewing its lease: {Count} connections are closed as abnormal", GatewayId, attached.Length);
        var calls = attached.Select(async pair =>
        {
            try
            {
                await GrainFactory.Reference<ISessionGrain>(pair.Value).Disconnect(GatewayId, pair.Key, DisconnectKind.Abnormal, null);
                return true;
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not tell the session of {ClientId} that gateway {GatewayId} is gone; trying again", pair.Value, GatewayId);
                return false;
            }
        }).ToArray();
        var reported = await Task.WhenAll(calls);
        for (var i = 0; i < attached.Length; i++)
        {
            if (reported[i] && State.Connections.Remove(attached[i].Key))
            {
                _expired.Add(attached[i].Key);
                _dirty = true;
            }
        }

        _expiredAt = Environment.TickCount64;
        await _commit.CommitAsync();
    }

    private Task EnsureReminderAsync() => State.ReminderRegistered && _reminderChange is null ? Task.CompletedTask : ChangeReminderAsync(register: true);

    /// <summary>One reminder change at a time; concurrent attaches share the registration.</summary>
    private Task ChangeReminderAsync(bool register)
    {
        if (_reminderChange is { } running)
        {
            return running.ContinueWith(_ => ChangeReminderAsync(register), TaskScheduler.Current).Unwrap();
        }

        if (State.ReminderRegistered == register)
        {
            return Task.CompletedTask;
        }

        _reminderChange = ChangeAsync();
        return _reminderChange;

        async Task ChangeAsync()
        {
            try
            {
                if (register)
                {
                    // The reminder only revives the grain after its silo died; the timer does the timely checks.
                    var period = Duration > _minimumReminderPeriod ? Duration : _minimumReminderPeriod;
                    await this.RegisterOrUpdateReminder(ReminderName, period, period);
                }
                else if (await this.GetReminder(ReminderName) is { } reminder)
                {
                    await this.UnregisterReminder(reminder);
                }

                State.ReminderRegistered = register;
                _dirty = true;
            }
            finally
            {
                _reminderChange = null;
            }
        }
    }

    private async Task WriteAsync()
    {
        _dirty = false;
        if (State.Connections.Count == 0 && !State.ReminderRegistered)
        {
            if (_stored.RecordExists)
            {
                // Clearing replaces the state object; keep ours, which calls that interleaved may have changed.
                var state = State;
                await _stored.ClearStateAsync();
                _stored.State = state;
                _dirty |= state.Connections.Count > 0 || state.ReminderRegistered;
            }

            return;
        }

        await _stored.WriteStateAsync();
    }
}
