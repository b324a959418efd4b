using System.Collections.Concurrent;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The live connections of this gateway, by connection id, and the silos that hold their sessions in memory only
/// (see <see cref="SessionHostWatch"/>).
/// </summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, MqttConnection> _connections = new();
    private readonly ConcurrentDictionary<SiloAddress, SiloAddress> _sessionHosts = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource? _empty;
    private int _count;

    /// <summary>
    /// How many connections there are, kept alongside: <c>ConcurrentDictionary.Count</c> takes every lock of the
    /// dictionary, and the CONNECT admission reads it on each connect, so it held up the adds and removes of a storm.
    /// </summary>
    public int Count => Volatile.Read(ref _count);

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

    /// <summary>Silos that a connection's session was said to live on, and not yet found dead (a copy).</summary>
    public ICollection<SiloAddress> SessionHosts => _sessionHosts.Keys;

    public bool HasSessionHosts => !_sessionHosts.IsEmpty;

    /// <summary>One instance per silo for all the connections whose sessions it holds; remembered as a session host.</summary>
    public SiloAddress? InternSessionHost(SiloAddress? host) => host is null ? null : _sessionHosts.GetOrAdd(host, host);

    /// <summary>A dead silo: no session lives there any more.</summary>
    public void ForgetSessionHost(SiloAddress host) => _sessionHosts.TryRemove(host, out _);

    public void Add(MqttConnection connection)
    {
        if (_connections.TryAdd(connection.Id, connection))
        {
            Interlocked.Increment(ref _count);
        }
    }

    public void Remove(MqttConnection connection)
    {
        if (!_connections.TryRemove(new KeyValuePair<long, MqttConnection>(connection.Id, connection)))
        {
            return;
        }

        Interlocked.Decrement(ref _count);
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
