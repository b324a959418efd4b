namespace OrleansMqtt.Gateway;

/// <summary>
/// A rate limit: <c>rate</c> tokens a second, at most <c>burst</c> saved up. Not thread-safe; callers that share one
/// lock around it. A struct so that a connection's bucket costs two fields, not an object.
/// </summary>
public struct TokenBucket(int rate, int burst)
{
    private double _tokens = burst;
    private long _refilledAt = Environment.TickCount64;

    public readonly long RefilledAt => _refilledAt;

    /// <summary>Takes one token; false when none is left (the limit is hit). A rate of 0 never limits.</summary>
    public bool TryTake(long now)
    {
        if (rate <= 0)
        {
            return true;
        }

        var elapsed = now - _refilledAt;
        if (elapsed > 0)
        {
            _tokens = Math.Min(burst, _tokens + (elapsed * rate / 1000.0));
            _refilledAt = now;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
