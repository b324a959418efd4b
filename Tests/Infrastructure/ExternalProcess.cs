using System.Diagnostics;
using System.Threading.Channels;

namespace OrleansMqtt.Tests.Infrastructure;

/// <summary>A program the tests run, with its output lines readable as they come and a bounded lifetime.</summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _all = [];
    private int _streamsOpen = 2;

    private ExternalProcess(Process process)
    {
        _process = process;
    }

    public string Output
    {
        get
        {
            lock (_all)
            {
                return string.Join('\n', _all);
            }
        }
    }

    public int Id => _process.Id;

    /// <summary>When the process ended, if it has; for failure messages.</summary>
    public DateTime? ExitedAt { get; private set; }

    /// <summary>What the process printed and, once ended, when and how; for failure messages.</summary>
    public string Describe() =>
        $"process {_process.Id}, {(ExitedAt is { } at ? $"exited at {at:HH:mm:ss.fff} with code {_process.ExitCode}" : "running")}, printed:\n{Output}";

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var wrapper = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => wrapper.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.OnLine(e.Data);
        process.Exited += (_, _) => wrapper.ExitedAt = DateTime.UtcNow;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }

        return wrapper;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            // Standard output and standard error both ended: the process is gone, no line will follow.
            if (Interlocked.Decrement(ref _streamsOpen) == 0)
            {
                _lines.Writer.TryComplete();
            }

            return;
        }

        lock (_all)
        {
            _all.Add(line);
        }

        _lines.Writer.TryWrite(line);
    }

    /// <summary>Waits for an output line containing <paramref name="text"/>.</summary>
    public async Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token);
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'{_process.StartInfo.FileName}' printed no line with '{text}' within {timeout.TotalSeconds} s. Output:\n{Output}");
        }
        catch (ChannelClosedException)
        {
            // It ended without printing it: say so now rather than when the timeout is up.
            await _process.WaitForExitAsync(cts.Token);
            throw new InvalidOperationException($"'{_process.StartInfo.FileName}' exited with code {_process.ExitCode} without printing a line with '{text}'. Output:\n{Output}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'{_process.StartInfo.FileName}' did not exit within {timeout.TotalSeconds} s. Output:\n{Output}");
        }
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>SIGTERM, as Ctrl-C or a container stop would send.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString()])?.WaitForExit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
