namespace OrleansMqtt.Grains;

/// <summary>
/// Coalesces the state writes of one grain activation: a caller that asks while a write is running waits for the
/// next write, which covers every change made meanwhile. One storage write thus serves many messages, and
/// interleaved calls never race two writes against one ETag. Runs on the grain's scheduler, so it needs no locks.
/// </summary>
public sealed class GroupCommit(Func<Task> write)
{
    private TaskCompletionSource? _waiting;
    private bool _writing;

    /// <summary>Completes when a write that started after this call has finished.</summary>
    public Task CommitAsync()
    {
        _waiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = _waiting.Task;
        if (!_writing)
        {
            _ = PumpAsync();
        }

        return task;
    }

    private async Task PumpAsync()
    {
        _writing = true;
        try
        {
            while (_waiting is { } batch)
            {
                _waiting = null;
                try
                {
                    await write();
                    batch.SetResult();
                }
                catch (Exception ex)
                {
                    batch.SetException(ex);
                }
            }
        }
        finally
        {
            _writing = false;
        }
    }
}
