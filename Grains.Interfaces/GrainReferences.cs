using System.Runtime.CompilerServices;

namespace OrleansMqtt.Grains;

/// <summary>
/// Grain references without Orleans' per-call type resolution. <c>IGrainFactory.GetGrain&lt;T&gt;</c> resolves the
/// grain interface type of <typeparamref name="T"/> on every call, through its custom attributes and the formatting
/// of its type name (reflection, and garbage), which was an eighth of the broker's CPU in a connect storm. This
/// resolves it once per grain factory and interface, through <c>GetGrain</c> itself, and builds every later
/// reference from the grain id, as <c>GetGrain</c> does after resolving.
/// </summary>
public static class GrainReferences
{
    /// <summary>The grain of <typeparamref name="T"/> with string key <paramref name="key"/>, as <c>GetGrain</c> gives it.</summary>
    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        var types = Types<T>.Of(grains);
        return (T)grains.GetGrain(GrainId.Create(types.Grain, IdSpan.Create(key)), types.Interface);
    }

    /// <summary>The grain of <typeparamref name="T"/> with integer key <paramref name="key"/>, as <c>GetGrain</c> gives it.</summary>
    public static T Reference<T>(this IGrainFactory grains, long key) where T : IGrainWithIntegerKey
    {
        var types = Types<T>.Of(grains);
        return (T)grains.GetGrain(GrainId.Create(types.Grain, GrainIdKeyExtensions.CreateIntegerKey(key)), types.Interface);
    }

    private static class Types<T>
    {
        // Keyed by factory: each cluster client or silo in a process has its own manifest.
        private static readonly ConditionalWeakTable<IGrainFactory, Resolved> ByFactory = [];

        public static Resolved Of(IGrainFactory grains) => ByFactory.GetValue(grains, Resolve);

        private static Resolved Resolve(IGrainFactory grains)
        {
            var probe = (GrainReference)grains.GetGrain(typeof(T), IdSpan.Create("type"));
            return new Resolved(probe.GrainId.Type, probe.InterfaceType);
        }
    }

    private sealed record Resolved(GrainType Grain, GrainInterfaceType Interface);
}
