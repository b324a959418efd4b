namespace OrleansMqtt.Grains;

/// <summary>
/// One per client id: the single authority for that session. Owns the connection (take-over), subscriptions,
/// in-flight and queued messages, the will and expiry.
/// </summary>
/// <remarks>
/// The array parameters are <see cref="ImmutableAttribute"/>: every caller builds a new array for the call and
/// neither side changes it afterwards, so a call within one process passes it without a copy, and the reference
/// each connection holds carries no copiers.
/// </remarks>
[Alias("mqtt.ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Closes any previous connection (wherever it is) and accepts this one.</summary>
    [Alias("Connect")]
    Task<ConnectResult> Connect(ConnectRequest request);

    /// <summary>The connection ended. Ignored when <paramref name="connectionId"/> is no longer the session's connection.</summary>
    [Alias("Disconnect")]
    Task Disconnect(string gatewayId, long connectionId, DisconnectKind kind, uint? sessionExpiryInterval);

    /// <summary>
    /// A connection whose session was kept in memory only on a silo that died has ended (the gateway closed it).
    /// The gateway kept the connection's will: it is published unless the client ended the connection with a normal
    /// DISCONNECT (the gateway does not call then). If this session still knows the connection (it had parked
    /// before its silo died, and resumed from storage), this is an abnormal end of it, as <see cref="Disconnect"/>.
    /// </summary>
    [Alias("EndLost")]
    Task EndLost(string gatewayId, long connectionId, WillSpec will);

    [Alias("Subscribe")]
    Task<SubscribeResult> Subscribe(long connectionId, [Immutable] SubscriptionRequest[] subscriptions, uint? subscriptionIdentifier);

    /// <summary>One reason code per filter: Success or NoSubscriptionExisted.</summary>
    [Alias("Unsubscribe")]
    Task<byte[]> Unsubscribe(long connectionId, [Immutable] string[] filters);

    /// <summary>
    /// The client acknowledged messages the session sent. What may now be sent because the in-flight window opened
    /// goes to the connection the way every delivery does, so that it stays in order with what is delivered next;
    /// completes when the acknowledgements are stored (persistent sessions).
    /// </summary>
    [Alias("Acknowledge")]
    Task Acknowledge(long connectionId, [Immutable] ClientAck[] acks);

    /// <summary>
    /// Inbound QoS 2 PUBLISH packets, in the order they came: each published once however often the client resends
    /// it before PUBREL (the packet id is remembered until PUBREL). Returns the PUBREC reason code of each.
    /// </summary>
    [Alias("PublishExactlyOnceMany")]
    Task<byte[]> PublishExactlyOnce(long connectionId, [Immutable] ExactlyOncePublish[] messages);

    /// <summary>Inbound PUBRELs: forget the packet ids. Returns the PUBCOMP reason code of each (0x92 when unknown).</summary>
    [Alias("ReleaseMany")]
    Task<byte[]> Release(long connectionId, [Immutable] ushort[] packetIds);

    /// <summary>
    /// A message matched one of the session's subscriptions. Returns when a QoS 1/2 message is held by the session
    /// (durably, for a persistent session); false when there is no session to take it. Interleaves, so that a topic
    /// grain delivering while this session awaits that topic grain (during SUBSCRIBE) cannot deadlock.
    /// <paramref name="sharedVia"/> names the shared subscription (<c>$share/{group}/{filter}</c>) that chose this
    /// session, so the message can go to another member if this session ends holding it.
    /// </summary>
    [AlwaysInterleave, Alias("Deliver")]
    Task<bool> Deliver(MqttMessage message, byte qos, bool retain, [Immutable] uint[]? subscriptionIds, string? sharedVia);

    /// <summary>
    /// Messages of one published batch that matched the session's (non-shared) subscriptions, in publish order.
    /// Returns when the QoS 1/2 ones are held by the session (durably, for a persistent session), as
    /// <see cref="Deliver"/> does for one message; one call per session per batch instead of one per message.
    /// </summary>
    [AlwaysInterleave, Alias("DeliverMany")]
    Task DeliverMany([Immutable] RoutedMessage[] messages);

    [ReadOnly, AlwaysInterleave, Alias("GetInfo")]
    Task<SessionInfo> GetInfo();

    /// <summary>Administrative close of the client's connection (v5: DISCONNECT 0x98); false when not connected.</summary>
    [Alias("CloseConnection")]
    Task<bool> CloseConnection();

    /// <summary>Administrative delete: closes the connection, drops the will, subscriptions and queue; false when there was no session.</summary>
    [Alias("Delete")]
    Task<bool> Delete();
}
