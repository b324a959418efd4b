namespace OrleansMqtt.Protocol;

/// <summary>
/// A packet broke a rule of the specification. <see cref="ReasonCode"/> is what a v5 server sends in DISCONNECT
/// (or CONNACK, for a bad CONNECT); a v3 server closes the connection.
/// </summary>
public sealed class MqttProtocolException : Exception
{
    public MqttProtocolException(ReasonCode reasonCode, string message) : base(message) => ReasonCode = reasonCode;

    public ReasonCode ReasonCode { get; }
}
