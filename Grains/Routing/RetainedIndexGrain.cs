using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

[GenerateSerializer, Alias("mqtt.RetainedIndexState")]
public sealed class RetainedIndexState
{
    [Id(0)] public Dictionary<string, MqttMessage> Messages { get; set; } = [];
}

/// <summary>The retained messages of one partition (topics by first level), for wildcard subscribes.</summary>
public sealed partial class RetainedIndexGrain(
    [PersistentState("retained", StorageNames.Index)] IPersistentState<RetainedIndexState> stored) : Grain, IRetainedIndexGrain, IRetainedIndexAdmin
{
    private string Partition => this.GetPrimaryKeyString();

    public async Task Set(string topic, MqttMessage? message)
    {
        var messages = stored.State.Messages;
        var wasEmpty = messages.Count == 0;
        if (message is null)
        {
            if (!messages.Remove(topic))
            {
                return;
            }
        }
        else
        {
            messages[topic] = message;
        }

        await stored.WriteStateAsync();
        var registry = GrainFactory.Reference<IRetainedPartitionsGrain>(0);
        if (wasEmpty && messages.Count > 0)
        {
            await registry.Add(Partition);
        }
        else if (!wasEmpty && messages.Count == 0)
        {
            await registry.Remove(Partition);
        }
    }

    public Task<MqttMessage[]> Match(string filter)
    {
        var messages = stored.State.Messages;
        var now = DateTime.UtcNow;
        if (!Topic.HasWildcard(filter))
        {
            return Task.FromResult<MqttMessage[]>(messages.TryGetValue(filter, out var one) && !one.IsExpired(now) ? [one] : []);
        }

        return Task.FromResult(messages.Where(m => Topic.Matches(filter, m.Key) && !m.Value.IsExpired(now)).Select(m => m.Value).ToArray());
    }
}

[GenerateSerializer, Alias("mqtt.RetainedPartitionsState")]
public sealed class RetainedPartitionsState
{
    [Id(0)] public HashSet<string> Partitions { get; set; } = [];
}

public sealed class RetainedPartitionsGrain(
    [PersistentState("retained-partitions", StorageNames.Index)] IPersistentState<RetainedPartitionsState> stored) : Grain, IRetainedPartitionsGrain
{
    public async Task Add(string partition)
    {
        if (stored.State.Partitions.Add(partition))
        {
            await stored.WriteStateAsync();
        }
    }

    public async Task Remove(string partition)
    {
        if (stored.State.Partitions.Remove(partition))
        {
            await stored.WriteStateAsync();
        }
    }

    public Task<string[]> List() => Task.FromResult(stored.State.Partitions.ToArray());
}
