namespace OrleansMqtt.Grains;

/// <summary>The grain storage provider every MQTT grain uses: memory by default, Azure in the cloud.</summary>
public static class StorageNames
{
    public const string Mqtt = "mqtt";
}
