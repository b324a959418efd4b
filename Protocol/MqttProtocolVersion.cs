namespace OrleansMqtt.Protocol;

/// <summary>The protocol level byte of CONNECT.</summary>
public enum MqttProtocolVersion : byte
{
    V310 = 3,
    V311 = 4,
    V500 = 5,
}
