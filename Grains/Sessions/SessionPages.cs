namespace OrleansMqtt.Grains;

/// <summary>
/// A persistent session as paged storage keeps it (Azure Table storage): this record holds the session without its
/// messages, and names the messages it holds by sequence number, in order; the messages themselves are in
/// <see cref="SessionPage"/>s, each written once when it fills. A group commit then writes what changed (the new
/// messages and this small record), not every message the session holds.
/// </summary>
[GenerateSerializer, Alias("mqtt.SessionRecord")]
public sealed class SessionRecord
{
    /// <summary>The session, its <see cref="SessionState.InFlight"/> and <see cref="SessionState.Queue"/> empty.</summary>
    [Id(0)] public required SessionState Session { get; init; }

    /// <summary>The in-flight messages: sequence numbers, in the order they were sent.</summary>
    [Id(1)] public long[] InFlight { get; init; } = [];

    /// <summary>The in-flight messages' packet ids, in the same order.</summary>
    [Id(2)] public ushort[] PacketIds { get; init; } = [];

    /// <summary>The in-flight QoS 2 messages whose PUBREC came (PUBREL sent), in the same order.</summary>
    [Id(3)] public bool[] Released { get; init; } = [];

    /// <summary>The queued messages: sequence numbers, in order.</summary>
    [Id(4)] public long[] Queue { get; init; } = [];

    /// <summary>The sequence number the next new message gets.</summary>
    [Id(5)] public long NextSequence { get; init; }

    /// <summary>The number the next new page gets: pages are never numbered twice, so a page left by a crash is never mistaken for a new one.</summary>
    [Id(6)] public long NextPage { get; init; }

    /// <summary>
    /// The pages that hold the messages it names; any other page of the session is not its own (null in a record
    /// written before pages were named: then every page is read).
    /// </summary>
    [Id(7)] public long[]? Pages { get; init; }

    /// <summary>What the record takes per message it names, at most (a sequence number, a packet id, a flag).</summary>
    public const int BytesPerMessage = 16;
}

/// <summary>Messages of one session, each with its sequence number.</summary>
[GenerateSerializer, Alias("mqtt.SessionPage")]
public sealed class SessionPage
{
    [Id(0)] public long[] Sequences { get; init; } = [];

    [Id(1)] public QueuedMessage[] Messages { get; init; } = [];
}
