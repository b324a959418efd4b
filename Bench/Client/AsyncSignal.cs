namespace OrleansMqtt.Bench.Client;

/// <summary>
/// Wakes a waiting publisher when credit may have come back. Cheap when nobody waits: <see cref="Set"/> allocates a
/// new task only after a <see cref="WaitTask"/>, so a reader calling it after every read costs nothing in steady state.
/// </summary>
public sealed class AsyncSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    /// <summary>
    /// The task to await. Take it before checking the condition you wait for, then await it only if the condition is
    /// still false: a <see cref="Set"/> in between completes it.
    /// </summary>
    public Task WaitTask()
    {
        Interlocked.Exchange(ref _waiting, 1);
        return Volatile.Read(ref _current).Task;
    }

    public void Set()
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 0)
        {
            return;
        }

        var previous = Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
