namespace OrleansMqtt.Grains;

/// <summary>The <c>$SYS/broker/...</c> topics (section <c>Mqtt:Sys</c>).</summary>
public sealed class SysOptions
{
    public const string Section = "Mqtt:Sys";

    /// <summary>Publish the $SYS topics (retained). Off: nothing is published under $SYS.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the figures are refreshed, published (when changed) and sampled for the dashboard.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A gateway that has not reported for this long has left; its totals are kept.</summary>
    public TimeSpan GatewayTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
