using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The gateway-wide side of the limits: admission of CONNECT (connections, CONNECT rate of the gateway and of each
/// source address), and the one place where a hit is counted and logged. A limit hit over and over (a flood) is
/// logged once, then again at most every <see cref="LimitsOptions.LogInterval"/> with the count meanwhile.
/// </summary>
public sealed class ConnectionLimits(IOptions<LimitsOptions> options, ConnectionRegistry registry, ILogger<ConnectionLimits> logger)
{
    // Source addresses tracked at most; beyond it idle buckets are dropped, then all (a spoofing flood cannot grow it).
    private const int MaxTrackedSources = 100_000;

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<IPAddress, SourceBucket> _sources = new();
    private readonly ConcurrentDictionary<string, LogState> _logged = new(StringComparer.Ordinal);
    private TokenBucket _gateway = new(options.Value.ConnectRate, options.Value.ConnectBurst);

    public LimitsOptions Options { get; } = options.Value;

    /// <summary>Source addresses with a CONNECT bucket (for tests and the sweep).</summary>
    public int TrackedSources => _sources.Count;

    /// <summary>
    /// Whether a CONNECT may go on. When not, the limit it hit (counted and logged here) and the CONNACK reason:
    /// Server Busy for the connection count, Connection Rate Exceeded for the rates (v3 clients get Server Unavailable).
    /// </summary>
    public (string Limit, ReasonCode Reason)? AdmitConnect(EndPoint? remote)
    {
        var now = Environment.TickCount64;
        if (Options.MaxConnections > 0 && registry.Count > Options.MaxConnections)
        {
            return Refuse(LimitNames.Connections, ReasonCode.ServerBusy, $"{registry.Count} connections, more than {Options.MaxConnections}");
        }

        if (Options.ConnectRatePerSourceIp > 0 && remote is IPEndPoint { Address: var address })
        {
            var source = _sources.GetOrAdd(address, static (_, o) => new SourceBucket(o.ConnectRatePerSourceIp, o.ConnectBurstPerSourceIp), Options);
            bool admitted;
            lock (source)
            {
                admitted = source.Bucket.TryTake(now);
            }

            if (!admitted)
            {
                return Refuse(LimitNames.ConnectRatePerSourceIp, ReasonCode.ConnectionRateExceeded, $"more than {Options.ConnectRatePerSourceIp} CONNECT/s from {address}");
            }

            if (_sources.Count > MaxTrackedSources)
            {
                PruneSources(now);
            }
        }

        lock (_lock)
        {
            if (!_gateway.TryTake(now))
            {
                return Refuse(LimitNames.ConnectRate, ReasonCode.ConnectionRateExceeded, $"more than {Options.ConnectRate} CONNECT/s on this gateway");
            }
        }

        return null;
    }

    /// <summary>Forgets source addresses whose bucket has been full again for a while; called by the sweep.</summary>
    public void PruneSources(long now)
    {
        // A bucket refills completely within burst / rate seconds: past that, forgetting it changes nothing.
        var idle = 1000L * Options.ConnectBurstPerSourceIp / Math.Max(1, Options.ConnectRatePerSourceIp);
        foreach (var (address, source) in _sources)
        {
            if (now - source.Bucket.RefilledAt > idle)
            {
                _sources.TryRemove(address, out _);
            }
        }

        if (_sources.Count > MaxTrackedSources)
        {
            _sources.Clear();
        }
    }

    /// <summary>Counts a hit of <paramref name="limit"/> and logs it, unless it was logged within the log interval.</summary>
    public void Report(string limit, string detail)
    {
        LimitMetrics.Hit(limit);
        var state = _logged.GetOrAdd(limit, static _ => new LogState());
        var now = Environment.TickCount64;
        long suppressed;
        lock (state)
        {
            if (state.LoggedAt != 0 && now - state.LoggedAt < (long)Options.LogInterval.TotalMilliseconds)
            {
                state.Suppressed++;
                return;
            }

            suppressed = state.Suppressed;
            state.Suppressed = 0;
            state.LoggedAt = now;
        }

        logger.LogWarning("Limit {Limit} hit: {Detail} ({Suppressed} more hits since it was last logged)", limit, detail, suppressed);
    }

    private (string, ReasonCode) Refuse(string limit, ReasonCode reason, string detail)
    {
        Report(limit, detail);
        return (limit, reason);
    }

    private sealed class SourceBucket(int rate, int burst)
    {
        public TokenBucket Bucket = new(rate, burst);
    }

    private sealed class LogState
    {
        public long LoggedAt;
        public long Suppressed;
    }
}
