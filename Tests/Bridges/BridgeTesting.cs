using System.Text.Json;
using Azure.Storage.Queues;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Bridges;

/// <summary>What the bridge tests share: a backend's view of a queue, and waits on the bridges.</summary>
public static class BridgeTesting
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static string NewId() => Guid.NewGuid().ToString("N")[..10];

    public static QueueClient Queue(string connectionString, string name) => new(connectionString, name);

    /// <summary>Receives and deletes messages, as a backend consumer would, until <paramref name="count"/> have come.</summary>
    public static Task<List<JsonElement>> ReadAsync(QueueClient queue, int count, TimeSpan? patience = null) =>
        ReadUntilAsync(queue, received => received.Count >= count, $"{count} messages", patience);

    /// <summary>
    /// Receives and deletes messages until every publisher's numbers 0..count-1 are there (duplicates, which
    /// at-least-once allows after a failure, do not count twice).
    /// </summary>
    public static Task<List<JsonElement>> ReadNumbersAsync(QueueClient queue, int publishers, int count) =>
        ReadUntilAsync(queue, received => received.Select(e => (e.GetProperty("clientId").GetString(), PayloadText(e))).Distinct().Count() >= publishers * count, $"{count} numbered messages from each of {publishers} publishers", null);

    private static async Task<List<JsonElement>> ReadUntilAsync(QueueClient queue, Func<List<JsonElement>, bool> complete, string awaited, TimeSpan? patience)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        var received = new List<JsonElement>();
        while (!complete(received))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not all of {awaited} reached queue {queue.Name} within {(patience ?? Patience).TotalSeconds} s ({received.Count} did)");
            }

            if (!(await queue.ExistsAsync()).Value)
            {
                await Task.Delay(100);
                continue;
            }

            var batch = (await queue.ReceiveMessagesAsync(32)).Value;
            if (batch.Length == 0)
            {
                await Task.Delay(50);
                continue;
            }

            foreach (var message in batch)
            {
                using var document = JsonDocument.Parse(message.Body.ToString());
                received.Add(document.RootElement.Clone());
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        return received;
    }

    public static async Task WaitForOutboundAsync(this EmbeddedBroker broker, string queue)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!(await broker.Grains.GetGrain<IOutboundBridgeGrain>(queue).GetInfo()).Running)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The outbound bridge of {queue} did not connect within {Patience.TotalSeconds} s");
            }

            await Task.Delay(50);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string awaited)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {Patience.TotalSeconds} s: {awaited}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The numbers of each publisher's messages, in the order the queue returned them.</summary>
    public static Dictionary<string, List<int>> NumbersByPublisher(IEnumerable<JsonElement> envelopes) =>
        envelopes.GroupBy(e => e.GetProperty("clientId").GetString()!)
            .ToDictionary(g => g.Key, g => g.Select(e => int.Parse(PayloadText(e))).ToList());

    public static string PayloadText(JsonElement envelope) => envelope.GetProperty("payloadEncoding").GetString() == "base64"
        ? System.Text.Encoding.UTF8.GetString(envelope.GetProperty("payload").GetBytesFromBase64())
        : envelope.GetProperty("payload").GetString()!;

    /// <summary>
    /// Every number from 0 to count-1, and in order once duplicates are dropped: at-least-once allows a message to
    /// arrive twice after a failure, never to be missing or to overtake one published before it.
    /// </summary>
    public static void AssertCompleteAndInOrder(string publisher, List<int> numbers, int count)
    {
        var firsts = new List<int>();
        var seen = new HashSet<int>();
        foreach (var n in numbers)
        {
            if (seen.Add(n))
            {
                firsts.Add(n);
            }
        }

        Assert.True(Enumerable.Range(0, count).SequenceEqual(firsts),
            $"{publisher}: expected 0..{count - 1} in order, got [{string.Join(",", numbers)}]");
    }
}
