namespace OrleansMqtt.Grains;

/// <summary>
/// One per gateway process. Grains push deliveries to it, batched per gateway, and ask it to close connections
/// (take-over, administrative close).
/// </summary>
[Alias("mqtt.IGatewayObserver")]
public interface IGatewayObserver : IGrainObserver
{
    [Alias("Deliver")]
    Task Deliver(Delivery[] deliveries);

    /// <summary>Closes the connection; v5 clients get DISCONNECT with <paramref name="reasonCode"/> first.</summary>
    [Alias("Close")]
    Task Close(long connectionId, byte reasonCode);

    /// <summary>
    /// The session of the connection, kept in memory only, now lives on <paramref name="host"/> (it resumed there
    /// from parking), or in storage (<c>null</c>: it parked): the silo whose death ends the session.
    /// </summary>
    [Alias("SessionMoved"), OneWay]
    Task SessionMoved(long connectionId, SiloAddress? host);
}
