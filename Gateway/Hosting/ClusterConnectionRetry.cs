namespace OrleansMqtt.Gateway;

/// <summary>A gateway started before its silos keeps trying to reach them instead of exiting.</summary>
public sealed class ClusterConnectionRetry(ILogger<ClusterConnectionRetry> logger) : IClientConnectionRetryFilter
{
    private int _attempt;

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        _attempt++;
        logger.LogWarning("Cannot reach the cluster yet (attempt {Attempt}): {Error}", _attempt, exception.Message);
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(_attempt, 5)), cancellationToken);
        return true;
    }
}
