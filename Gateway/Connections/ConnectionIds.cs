namespace OrleansMqtt.Gateway;

/// <summary>
/// Connection ids unique across gateways: a random 32-bit prefix per process and a counter, so a session can tell
/// its current connection from an earlier one on any gateway.
/// </summary>
public sealed class ConnectionIds
{
    private readonly long _prefix = (long)Random.Shared.Next() << 32;
    private int _counter;

    public long Next() => _prefix | (uint)Interlocked.Increment(ref _counter);
}
