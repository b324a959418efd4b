using Orleans.Serialization;
using Orleans.Storage;

namespace OrleansMqtt.Grains;

/// <summary>
/// The Orleans binary format for the Azure storage providers, as <see cref="OrleansGrainStorageSerializer"/> writes
/// it, but written into pooled buffers and copied once into an array of the exact size: that one writes into a new
/// buffer that grows by doubling, which for a persistent session's state of hundreds of queued messages left two or
/// three times its size of garbage on every group commit. A message that occurs twice in one state is written twice,
/// where Orleans' serializer writes a reference to the first (either reads both).
/// </summary>
public sealed class PooledGrainStorageSerializer(Serializer serializer) : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => new(SerializeToArray(serializer, input));

    /// <summary>Stored state, in Orleans' format, with messages written in full (<see cref="MqttMessageCodec.InFull"/>).</summary>
    public static byte[] SerializeToArray<T>(Serializer serializer, T? input)
    {
        using (MqttMessageCodec.InFull())
        {
            return serializer.SerializeToArray(input);
        }
    }

    public T? Deserialize<T>(BinaryData input) => serializer.Deserialize<T>(input.ToMemory());
}
