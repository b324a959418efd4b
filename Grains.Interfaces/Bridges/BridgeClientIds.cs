namespace OrleansMqtt.Grains;

/// <summary>
/// Client ids the bridges use for their sessions and as publisher. The prefix is reserved: gateways refuse an MQTT
/// client that asks for it, so no device can take over a bridge's session.
/// </summary>
public static class BridgeClientIds
{
    public const string Prefix = "$bridge/";

    /// <summary>The persistent session that holds the messages bound for an outbound queue.</summary>
    public static string Outbound(string queue) => Prefix + "out/" + queue;

    /// <summary>The publisher id of messages that came from an inbound queue.</summary>
    public static string Inbound(string queue) => Prefix + "in/" + queue;

    public static bool IsReserved(string clientId) => clientId.StartsWith(Prefix, StringComparison.Ordinal);
}
