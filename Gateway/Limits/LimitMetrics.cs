using System.Diagnostics.Metrics;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The broker's meter: every instrument of the meter named "OrleansMqtt" is exported on /metrics. Limits add one
/// counter, <c>mqtt.limit.hits</c>, tagged with the <c>limit</c> that was hit (<see cref="LimitNames"/>).
/// </summary>
public static class LimitMetrics
{
    public const string MeterName = "OrleansMqtt";
    public const string HitsName = "mqtt.limit.hits";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Hits = Meter.CreateCounter<long>(HitsName, unit: "{hit}", description: "Times a gateway limit refused or disconnected a client, by limit.");

    public static void Hit(string limit) => Hits.Add(1, new KeyValuePair<string, object?>("limit", limit));
}
