using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OrleansMqtt.Gateway;

namespace OrleansMqtt.Tests.Limits;

/// <summary>
/// Listens to <c>mqtt.limit.hits</c> of the "OrleansMqtt" meter in this process (the embedded brokers of the tests),
/// as an exporter would, and keeps the count per limit.
/// </summary>
public sealed class LimitHits : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public LimitHits()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LimitMetrics.MeterName && instrument.Name == LimitMetrics.HitsName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "limit" && tag.Value is string limit)
                {
                    _counts.AddOrUpdate(limit, value, (_, old) => old + value);
                }
            }
        });
        _listener.Start();
    }

    public long this[string limit] => _counts.GetValueOrDefault(limit);

    /// <summary>Waits until <paramref name="limit"/> was counted at least <paramref name="atLeast"/> times since this listener started.</summary>
    public async Task WaitForAsync(string limit, long atLeast = 1)
    {
        var deadline = DateTime.UtcNow + Infrastructure.TestClient.Patience;
        while (this[limit] < atLeast)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"mqtt.limit.hits{{limit={limit}}} reached {this[limit]}, not {atLeast}, within {Infrastructure.TestClient.Patience.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }

    public void Dispose() => _listener.Dispose();
}
