using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansMqtt.Gateway;

/// <summary>Counters of refused clients and refused operations, on the <c>OrleansMqtt</c> meter.</summary>
public static class AuthMetrics
{
    public const string MeterName = "OrleansMqtt";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "mqtt.auth.failures", unit: "{connection}", description: "CONNECTs refused by authentication, by method and reason");

    private static readonly Counter<long> Denials = Meter.CreateCounter<long>(
        "mqtt.acl.denied", unit: "{operation}", description: "PUBLISH, SUBSCRIBE and will messages refused by the ACL, by action");

    /// <param name="method">password, jwt, x509, scram, anonymous</param>
    /// <param name="reason">a short fixed word (bad-password, unknown-user, expired, ...), never client input</param>
    public static void AuthFailed(string method, string reason) =>
        Failures.Add(1, new TagList { { "method", method }, { "reason", reason } });

    /// <param name="action">publish, subscribe or will</param>
    public static void AclDenied(string action) => Denials.Add(1, new KeyValuePair<string, object?>("action", action));
}
