using System.Diagnostics;
using OrleansMqtt.Bench.Client;

namespace OrleansMqtt.Tests.Performance;

/// <summary>
/// The latency scenario stamps each message when the pacer lets it go: a pacer that woke before the message's time
/// would send faster than the rate asked for.
/// </summary>
public sealed class PacerTests
{
    [Fact]
    public void The_pacer_never_returns_before_the_time_it_was_given()
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 1; i <= 200; i++)
        {
            // 250 µs apart: finer than the 4 ms tick of the .NET timers on a 250 Hz kernel.
            var due = start + (i * Stopwatch.Frequency / 4_000);
            Pacer.WaitUntil(due);
            Assert.True(Stopwatch.GetTimestamp() >= due, $"woke before message {i} was due");
        }
    }
}
