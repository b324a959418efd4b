using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>
/// Keeps what a broker in this process logs, whatever the category, so that a test can ask what it told the
/// operator. Add it to the host's services as an <see cref="ILoggerProvider"/>.
/// </summary>
public sealed class LogRecorder : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    /// <summary>The messages logged at <paramref name="level"/> or above.</summary>
    public IReadOnlyList<string> Messages(LogLevel level) =>
        [.. _entries.Where(e => e.Level >= level).Select(e => e.Message)];

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, formatter(state, exception)));

    public void Dispose()
    {
    }
}
