namespace OrleansMqtt.Grains;

/// <summary>The grain storage providers of the MQTT grains: memory by default, Azure in the cloud.</summary>
public static class StorageNames
{
    /// <summary>Sessions: one record per client id, bounded by the session's limits.</summary>
    public const string Mqtt = "mqtt";

    /// <summary>
    /// The records that grow with the fleet: a topic's subscribers, a partition of the wildcard or retained index, a
    /// gateway's connections. Where sessions are on Azure Table storage, these are on Azure Blob storage, since an
    /// entity holds 1 MB: some 30,000 subscribers of one topic, 15,000 device filters under one first level, or
    /// 1,000 retained messages of 1 KB.
    /// </summary>
    public const string Index = "mqtt-index";
}
