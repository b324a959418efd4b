using System.Text.RegularExpressions;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// The bridges between MQTT and Azure Storage Queues (section <c>Mqtt:Bridges</c>). Off unless a rule is configured.
/// The storage account is <see cref="ConnectionString"/> or <see cref="ServiceUri"/>; when neither is set, the silo's
/// <c>Azure:Storage</c> settings are used.
/// </summary>
public sealed partial class BridgeOptions
{
    public const string Section = "Mqtt:Bridges";

    /// <summary>An account connection string (Azurite, development); wins over <see cref="ServiceUri"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The queue endpoint, reached with <c>DefaultAzureCredential</c> (managed identity, no keys).</summary>
    public string? ServiceUri { get; set; }

    /// <summary>MQTT → queue: messages whose topic matches a filter are appended to the queue.</summary>
    public List<OutboundRule> Outbound { get; set; } = [];

    /// <summary>Queue → MQTT: messages put on the queue are published.</summary>
    public List<InboundRule> Inbound { get; set; } = [];

    /// <summary>Messages of one outbound queue being sent at once (one publisher's messages are sent one after another).</summary>
    public int MaxConcurrentSends { get; set; } = 16;

    /// <summary>Messages an outbound bridge holds unacknowledged; the rest wait in its session (bounded by <c>Mqtt:Sessions:MaxInflightMessages</c>).</summary>
    public int MaxInflightMessages { get; set; } = 100;

    /// <summary>Longest wait between two attempts to send a message to a queue that refuses it.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an inbound bridge looks at an empty queue (a queue with messages is read without pause).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public bool Enabled => Outbound.Count > 0 || Inbound.Count > 0;

    /// <summary>The outbound filters of one queue (several rules may feed one queue).</summary>
    public string[] FiltersOf(string queue) => [.. Outbound.Where(r => r.Queue == queue).Select(r => r.Filter).Distinct()];

    public InboundRule? InboundRuleOf(string queue) => Inbound.FirstOrDefault(r => r.Queue == queue);

    /// <summary>Messages for each invalid value, naming the setting; empty when the options are valid.</summary>
    public IEnumerable<string> Errors()
    {
        if (!Enabled)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(ConnectionString) && string.IsNullOrWhiteSpace(ServiceUri))
        {
            yield return "Mqtt:Bridges has rules but no storage account: set Mqtt:Bridges:ConnectionString or Mqtt:Bridges:ServiceUri (or Azure:Storage:ConnectionString or Azure:Storage:QueueServiceUri).";
        }
        else if (string.IsNullOrWhiteSpace(ConnectionString) && !Uri.TryCreate(ServiceUri, UriKind.Absolute, out _))
        {
            yield return $"Mqtt:Bridges:ServiceUri '{ServiceUri}' is not an absolute URI.";
        }

        for (var i = 0; i < Outbound.Count; i++)
        {
            var rule = Outbound[i];
            if (string.IsNullOrEmpty(rule.Filter) || !Topic.IsValidFilter(rule.Filter) || Topic.IsShared(rule.Filter, out _, out _))
            {
                yield return $"Mqtt:Bridges:Outbound:{i}:Filter '{rule.Filter}' is not a valid MQTT topic filter (shared subscriptions are not allowed).";
            }

            if (QueueNameError(rule.Queue) is { } error)
            {
                yield return $"Mqtt:Bridges:Outbound:{i}:Queue {error}";
            }
        }

        for (var i = 0; i < Inbound.Count; i++)
        {
            var rule = Inbound[i];
            if (QueueNameError(rule.Queue) is { } error)
            {
                yield return $"Mqtt:Bridges:Inbound:{i}:Queue {error}";
            }
            else if (rule.Queue.Length > 63 - InboundRule.PoisonSuffix.Length)
            {
                yield return $"Mqtt:Bridges:Inbound:{i}:Queue '{rule.Queue}' leaves no room for its poison queue '{rule.Queue}{InboundRule.PoisonSuffix}' (63 characters at most).";
            }

            if (Outbound.Any(o => o.Queue == rule.Queue))
            {
                yield return $"Mqtt:Bridges:Inbound:{i}:Queue '{rule.Queue}' is also an outbound queue: messages would go round in a loop.";
            }

            if (rule.MaxDequeueCount < 1)
            {
                yield return $"Mqtt:Bridges:Inbound:{i}:MaxDequeueCount must be at least 1.";
            }

            if (rule.VisibilityTimeout < TimeSpan.FromSeconds(1) || rule.VisibilityTimeout > TimeSpan.FromDays(7))
            {
                yield return $"Mqtt:Bridges:Inbound:{i}:VisibilityTimeout must be between 1 second and 7 days.";
            }
        }

        foreach (var duplicate in Inbound.GroupBy(r => r.Queue).Where(g => g.Count() > 1))
        {
            yield return $"Mqtt:Bridges:Inbound names queue '{duplicate.Key}' more than once.";
        }

        if (MaxConcurrentSends < 1)
        {
            yield return "Mqtt:Bridges:MaxConcurrentSends must be at least 1.";
        }

        if (MaxInflightMessages is < 1 or > 65535)
        {
            yield return "Mqtt:Bridges:MaxInflightMessages must be between 1 and 65535.";
        }

        if (MaxRetryDelay <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero)
        {
            yield return "Mqtt:Bridges:MaxRetryDelay and Mqtt:Bridges:PollInterval must be positive.";
        }
    }

    /// <summary>
    /// Azure's rules for queue names: 3 to 63 characters, lowercase letters, digits and single hyphens, starting and
    /// ending with a letter or digit.
    /// </summary>
    public static string? QueueNameError(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "is missing.";
        }

        return QueueName().IsMatch(name) && name.Length is >= 3 and <= 63 && !name.Contains("--", StringComparison.Ordinal)
            ? null
            : $"'{name}' is not a valid queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.";
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex QueueName();
}

/// <summary>MQTT → queue.</summary>
public sealed class OutboundRule
{
    /// <summary>A topic filter; wildcards allowed.</summary>
    public string Filter { get; set; } = "";

    /// <summary>The queue the messages are appended to; created if missing.</summary>
    public string Queue { get; set; } = "";
}

/// <summary>Queue → MQTT.</summary>
public sealed class InboundRule
{
    public const string PoisonSuffix = "-poison";

    /// <summary>The queue whose messages are published; created if missing.</summary>
    public string Queue { get; set; } = "";

    /// <summary>A message received this many times without being published goes to the poison queue.</summary>
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>How long a received message stays invisible to other readers while it is being published.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public string PoisonQueue => Queue + PoisonSuffix;
}
