using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.Durability;

/// <summary>Wraps one of the silo's grain storages ("mqtt" unless told) and counts writes per state name, to measure write amplification.</summary>
public sealed class CountingGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public ConcurrentDictionary<string, int> Writes { get; } = new();

    public int TotalWrites => Writes.Values.Sum();

    /// <summary>Replaces the registered storage (<see cref="StorageNames.Mqtt"/> unless told) with a counting wrapper around it.</summary>
    public static void Install(ISiloBuilder silo, Action<CountingGrainStorage> created, string name = StorageNames.Mqtt)
    {
        var original = silo.Services.Last(d => d.IsKeyedService && Equals(d.ServiceKey, name) && d.ServiceType == typeof(IGrainStorage));
        silo.Services.Remove(original);
        silo.Services.AddKeyedSingleton<IGrainStorage>(name, (services, key) =>
        {
            var counting = new CountingGrainStorage((IGrainStorage)original.KeyedImplementationFactory!(services, key));
            created(counting);
            return counting;
        });
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    /// <summary>How long each write takes at least, as a remote store's would.</summary>
    public TimeSpan WriteDelay { get; set; }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Writes.AddOrUpdate(stateName, 1, (_, n) => n + 1);
        if (WriteDelay > TimeSpan.Zero)
        {
            await Task.Delay(WriteDelay);
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}
