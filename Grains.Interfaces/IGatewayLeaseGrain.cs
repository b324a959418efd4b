namespace OrleansMqtt.Grains;

/// <summary>
/// The dead-man's switch of one gateway (key: its gateway id). Sessions attach their connections to the lease of the
/// gateway that holds them; the gateway renews the lease for all of them in one call. When renewals stop for longer
/// than the lease duration, each attached connection is reported to its session as abnormally closed: wills go out
/// and session expiry starts, even when the gateway (and the silo that hosted this grain) are gone.
/// </summary>
[Alias("mqtt.IGatewayLeaseGrain")]
public interface IGatewayLeaseGrain : IGrainWithStringKey
{
    /// <summary>
    /// The gateway is alive and holds its connections for <paramref name="duration"/> more. Returns the ids of its
    /// connections whose lease expired since the last renewal (their sessions have moved on): the gateway closes them.
    /// </summary>
    [Alias("Renew")]
    Task<long[]> Renew(TimeSpan duration);

    /// <summary>
    /// A session accepted a connection of this gateway. With <paramref name="durable"/> (a will or a persistent session)
    /// it returns once the attachment is stored, so the switch fires even if the gateway dies right after CONNACK.
    /// </summary>
    [Alias("Attach")]
    Task Attach(long connectionId, string clientId, bool durable);

    /// <summary>The connection ended, or its session moved on; nothing to report for it any more.</summary>
    [OneWay, Alias("Detach")]
    Task Detach(long connectionId);

    [ReadOnly, AlwaysInterleave, Alias("GetInfo")]
    Task<GatewayLeaseInfo> GetInfo();
}

/// <summary>What a lease holds, for operators and tests.</summary>
[GenerateSerializer, Immutable, Alias("mqtt.GatewayLeaseInfo")]
public sealed record GatewayLeaseInfo(
    [property: Id(0)] int Attached,
    [property: Id(1)] TimeSpan SinceRenewal,
    [property: Id(2)] TimeSpan Duration,
    [property: Id(3)] bool ReminderRegistered);

/// <summary>
/// Timing of the gateway leases (section <c>Mqtt:Lease</c>): the gateway renews every <see cref="RenewInterval"/>;
/// the lease lapses <see cref="Duration"/> after the last renewal.
/// </summary>
public sealed class LeaseOptions
{
    public const string Section = "Mqtt:Lease";

    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Messages for each invalid value; empty when the options are valid.</summary>
    public IEnumerable<string> Errors()
    {
        if (RenewInterval <= TimeSpan.Zero)
        {
            yield return "Mqtt:Lease:RenewInterval must be positive.";
        }

        if (Duration <= RenewInterval)
        {
            yield return $"Mqtt:Lease:Duration ({Duration}) must be longer than Mqtt:Lease:RenewInterval ({RenewInterval}), or every pause would expire the lease.";
        }
    }
}
