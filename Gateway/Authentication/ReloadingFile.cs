namespace OrleansMqtt.Gateway;

/// <summary>
/// What was read from one or more files, read again when one of them changes (time or size), checked at most once a
/// second when <see cref="Current"/> is asked for. Editors and deployment tools replace files in several ways (write in
/// place, rename over, symlink swap in a mounted secret); looking at the file when it is needed catches them all. A
/// file that cannot be read (half written) leaves the previous value in force and is tried again at the next check.
/// </summary>
public sealed class ReloadingFile<T>
    where T : class
{
    private static readonly long CheckIntervalMs = 1000;

    private readonly string _what;
    private readonly string[] _paths;
    private readonly Func<T> _load;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private (DateTime Time, long Length)[] _stamps;
    private T _current;
    private long _nextCheck;

    /// <summary>Reads the files now: a failure here is thrown, so a bad file stops the program at start.</summary>
    public ReloadingFile(string what, string[] paths, Func<T> load, ILogger logger)
    {
        _what = what;
        _paths = paths;
        _load = load;
        _logger = logger;
        _stamps = Stamps();
        _current = load();
        _nextCheck = Environment.TickCount64 + CheckIntervalMs;
    }

    public T Current
    {
        get
        {
            if (Environment.TickCount64 >= Volatile.Read(ref _nextCheck))
            {
                Check();
            }

            return Volatile.Read(ref _current);
        }
    }

    private void Check()
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            if (now < _nextCheck)
            {
                return;
            }

            Volatile.Write(ref _nextCheck, now + CheckIntervalMs);
            var stamps = Stamps();
            if (stamps.AsSpan().SequenceEqual(_stamps))
            {
                return;
            }

            try
            {
                Volatile.Write(ref _current, _load());
                _stamps = stamps;
                _logger.LogInformation("Reloaded {What} from {Path}", _what, string.Join(", ", _paths));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or System.Security.Cryptography.CryptographicException or ArgumentException or System.Text.Json.JsonException)
            {
                _logger.LogWarning("Could not reload {What} from {Path}, keeping the previous one: {Error}", _what, string.Join(", ", _paths), ex.Message);
            }
        }
    }

    private (DateTime, long)[] Stamps() => [.. _paths.Select(p =>
    {
        var info = new FileInfo(p);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
    })];
}
