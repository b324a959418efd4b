using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Grains;

/// <summary>
/// The cluster's figures (see <see cref="IClusterStatsGrain"/>). In memory: after its silo is lost, the next reports
/// rebuild the totals (gateways report cumulative counters), but the maximum client count, the history and the
/// totals of gateways that left before start again.
/// </summary>
public sealed class ClusterStatsGrain(IOptions<SysOptions> options, ILogger<ClusterStatsGrain> logger) : Grain, IClusterStatsGrain
{
    private const int HistoryLength = 120;
    private const int TopTopicCount = 10;
    private static readonly TimeSpan TopicHalfLife = TimeSpan.FromMinutes(1);
    private static readonly string Version = "OrleansMqtt " + (typeof(ClusterStatsGrain).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    private readonly SysOptions _options = options.Value;
    private readonly Dictionary<string, (GatewayReport Report, DateTime AtUtc)> _gateways = new(StringComparer.Ordinal);
    private readonly Queue<StatsSample> _history = new();
    private readonly Dictionary<string, double> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _published = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _traces = new(StringComparer.Ordinal);
    private GatewayReport _retired = new("retired", "", DateTime.MaxValue, 0, 0, 0, 0, 0, 0, 0, []);
    private DateTime _startedUtc = DateTime.MaxValue;
    private long _maximum;
    private DirectoryCounts _sessions = new(0, 0, 0);
    private long _retained;
    private DateTime _lastTick = DateTime.UtcNow;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(_options.Interval, _options.Interval) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task<TraceRequest[]> Report(GatewayReport report)
    {
        _gateways[report.GatewayId] = (report, DateTime.UtcNow);
        if (report.StartedUtc < _startedUtc)
        {
            _startedUtc = report.StartedUtc;
        }

        foreach (var topic in report.TopTopics)
        {
            _topics[topic.Topic] = _topics.GetValueOrDefault(topic.Topic) + topic.Count;
        }

        _maximum = Math.Max(_maximum, _gateways.Values.Sum(g => g.Report.Connections));
        var now = DateTime.UtcNow;
        foreach (var expired in _traces.Where(t => t.Value <= now).Select(t => t.Key).ToList())
        {
            _traces.Remove(expired);
        }

        return Task.FromResult(_traces.Select(t => new TraceRequest(t.Key, t.Value)).ToArray());
    }

    public Task Trace(string clientId, DateTime untilUtc)
    {
        _traces[clientId] = untilUtc;
        return Task.CompletedTask;
    }

    public Task<ClusterStats> GetStats()
    {
        var live = _gateways.Values.Select(g => g.Report).Append(_retired).ToList();
        return Task.FromResult(new ClusterStats(
            DateTime.UtcNow,
            _startedUtc == DateTime.MaxValue ? DateTime.UtcNow : _startedUtc,
            _gateways.Values.Sum(g => g.Report.Connections),
            _maximum,
            _sessions.OfflinePersistent,
            _sessions.Subscriptions,
            _retained,
            live.Sum(r => r.ConnectionsOpened),
            live.Sum(r => r.MessagesReceived),
            live.Sum(r => r.MessagesSent),
            live.Sum(r => r.BytesReceived),
            live.Sum(r => r.BytesSent),
            live.Sum(r => r.MessagesDropped),
            [.. _gateways.Values.OrderBy(g => g.Report.GatewayId, StringComparer.Ordinal).Select(g => new GatewayStatus(g.Report.GatewayId, g.Report.Host, g.AtUtc, g.Report.Connections, g.Report.MessagesReceived, g.Report.MessagesSent))],
            [.. _history],
            [.. _topics.OrderByDescending(t => t.Value).Take(TopTopicCount).Select(t => new TopicCount(t.Key, (long)Math.Round(t.Value)))]));
    }

    /// <summary>Every <c>Mqtt:Sys:Interval</c>: retire silent gateways, refresh silo-side figures, sample, publish $SYS.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        foreach (var (id, (report, at)) in _gateways.Where(g => now - g.Value.AtUtc > _options.GatewayTimeout).ToList())
        {
            logger.LogInformation("Gateway {GatewayId} has not reported since {LastReport:O}: it has left", id, at);
            _gateways.Remove(id);
            _retired = _retired with
            {
                ConnectionsOpened = _retired.ConnectionsOpened + report.ConnectionsOpened,
                MessagesReceived = _retired.MessagesReceived + report.MessagesReceived,
                MessagesSent = _retired.MessagesSent + report.MessagesSent,
                BytesReceived = _retired.BytesReceived + report.BytesReceived,
                BytesSent = _retired.BytesSent + report.BytesSent,
                MessagesDropped = _retired.MessagesDropped + report.MessagesDropped,
            };
        }

        // Topic counts fade with a half-life of a minute, so the top list shows the last minutes.
        var fade = Math.Pow(0.5, (now - _lastTick).TotalSeconds / TopicHalfLife.TotalSeconds);
        _lastTick = now;
        foreach (var topic in _topics.Keys.ToList())
        {
            var count = _topics[topic] * fade;
            if (count < 0.5)
            {
                _topics.Remove(topic);
            }
            else
            {
                _topics[topic] = count;
            }
        }

        try
        {
            await RefreshSiloFiguresAsync();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not count sessions and retained messages");
        }

        var stats = await GetStats();
        _history.Enqueue(new StatsSample(now, stats.ClientsConnected, stats.MessagesReceived, stats.MessagesSent));
        while (_history.Count > HistoryLength)
        {
            _history.Dequeue();
        }

        if (_options.Enabled)
        {
            await PublishSysAsync(stats);
        }
    }

    private async Task RefreshSiloFiguresAsync()
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, SessionDirectory.Partitions).Select(p => GrainFactory.Reference<ISessionDirectoryGrain>(p).Count()));
        _sessions = new DirectoryCounts(counts.Sum(c => c.Online), counts.Sum(c => c.OfflinePersistent), counts.Sum(c => c.Subscriptions));
        var partitions = await GrainFactory.Reference<IRetainedPartitionsGrain>(0).List();
        var retained = await Task.WhenAll(partitions.Select(p => GrainFactory.Reference<IRetainedIndexAdmin>(p).CountRetained()));
        _retained = retained.Sum();
    }

    /// <summary>The topics a monitoring tool expects of mosquitto, retained, each published only when its value changed.</summary>
    private async Task PublishSysAsync(ClusterStats stats)
    {
        var figures = new (string Topic, object Value)[]
        {
            ("$SYS/broker/version", Version),
            ("$SYS/broker/uptime", $"{(long)(stats.TakenUtc - stats.StartedUtc).TotalSeconds} seconds"),
            ("$SYS/broker/clients/connected", stats.ClientsConnected),
            ("$SYS/broker/clients/active", stats.ClientsConnected),
            ("$SYS/broker/clients/disconnected", stats.SessionsOffline),
            ("$SYS/broker/clients/inactive", stats.SessionsOffline),
            ("$SYS/broker/clients/total", stats.ClientsConnected + stats.SessionsOffline),
            ("$SYS/broker/clients/maximum", stats.ClientsMaximum),
            ("$SYS/broker/messages/received", stats.MessagesReceived),
            ("$SYS/broker/messages/sent", stats.MessagesSent),
            ("$SYS/broker/publish/messages/received", stats.MessagesReceived),
            ("$SYS/broker/publish/messages/sent", stats.MessagesSent),
            ("$SYS/broker/publish/messages/dropped", stats.MessagesDropped),
            ("$SYS/broker/bytes/received", stats.BytesReceived),
            ("$SYS/broker/bytes/sent", stats.BytesSent),
            ("$SYS/broker/subscriptions/count", stats.Subscriptions),
            ("$SYS/broker/retained messages/count", stats.RetainedMessages),
            ("$SYS/broker/cluster/gateways", stats.Gateways.Length),
        };

        var changed = new List<MqttMessage>();
        foreach (var (topic, value) in figures)
        {
            var text = Convert.ToString(value, CultureInfo.InvariantCulture)!;
            if (_published.TryGetValue(topic, out var last) && last == text)
            {
                continue;
            }

            _published[topic] = text;
            changed.Add(new MqttMessage(topic, Encoding.UTF8.GetBytes(text), 0, true, PublisherId: "$SYS"));
        }

        try
        {
            await Task.WhenAll(changed.Select(m => GrainFactory.Reference<ITopicGrain>(m.Topic).Publish([m])));
        }
        catch (Exception ex)
        {
            // Published again at the next interval.
            _published.Clear();
            logger.LogWarning(ex, "Could not publish the $SYS topics");
        }
    }
}
