using System.Collections.Concurrent;

namespace OrleansMqtt.Gateway;

/// <summary>The live connections of this gateway, by connection id.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, MqttConnection> _connections = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource? _empty;

    public int Count => _connections.Count;

    /// <summary>
    /// The connections, read as they are (not a snapshot: <c>Values</c> would copy them all into a new list, under
    /// every lock, on each sweep of the keep-alive timer, once a second).
    /// </summary>
    public IEnumerable<MqttConnection> All
    {
        get
        {
            foreach (var (_, connection) in _connections)
            {
                yield return connection;
            }
        }
    }

    public void Add(MqttConnection connection) => _connections[connection.Id] = connection;

    public void Remove(MqttConnection connection)
    {
        _connections.TryRemove(new KeyValuePair<long, MqttConnection>(connection.Id, connection));
        if (_connections.IsEmpty)
        {
            lock (_lock)
            {
                _empty?.TrySetResult();
            }
        }
    }

    public bool TryGet(long id, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out MqttConnection connection) => _connections.TryGetValue(id, out connection);

    /// <summary>Completes when no connection is left.</summary>
    public Task WhenEmpty()
    {
        lock (_lock)
        {
            if (_connections.IsEmpty)
            {
                return Task.CompletedTask;
            }

            _empty ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _empty.Task;
        }
    }
}
