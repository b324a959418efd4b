using OrleansMqtt.Grains;

namespace OrleansMqtt.Tests.GrainsCluster;

/// <summary>
/// One client connection as a gateway holds it: the session grain of its client id, the gateway it is on and its
/// connection id. Each connection gets a gateway of its own unless one is given, so what a gateway records is
/// what that client would have received, in order.
/// </summary>
public sealed class TestConnection
{
    private readonly ClusterFixture _cluster;

    private TestConnection(ClusterFixture cluster, string clientId, RecordingGateway gateway, ConnectionRef connection, ConnectResult result)
    {
        _cluster = cluster;
        ClientId = clientId;
        Gateway = gateway;
        Connection = connection;
        Result = result;
    }

    public string ClientId { get; }

    public ISessionGrain Session => _cluster.Session(ClientId);

    public RecordingGateway Gateway { get; }

    public ConnectionRef Connection { get; }

    public long ConnectionId => Connection.ConnectionId;

    /// <summary>What CONNACK and the packets after it would carry.</summary>
    public ConnectResult Result { get; }

    public static async Task<TestConnection> ConnectAsync(
        ClusterFixture cluster,
        string clientId,
        byte protocolVersion = 4,
        bool cleanStart = true,
        uint sessionExpiryInterval = 0,
        WillSpec? will = null,
        RecordingGateway? gateway = null,
        ushort receiveMaximum = 0)
    {
        gateway ??= new RecordingGateway(cluster.Client);
        var connection = gateway.NewConnection();
        var request = new ConnectRequest(connection, protocolVersion, cleanStart, sessionExpiryInterval, will, receiveMaximum);
        var result = await cluster.Session(clientId).Connect(request);
        return new TestConnection(cluster, clientId, gateway, connection, result);
    }

    /// <summary>Subscribes to one filter and checks that the requested QoS was granted.</summary>
    public async Task<SubscribeResult> SubscribeAsync(string filter, byte qos = 1, uint? subscriptionIdentifier = null)
    {
        var result = await Session.Subscribe(ConnectionId, [new SubscriptionRequest(filter, qos)], subscriptionIdentifier);
        Assert.True(result.ReasonCodes is [var code] && code == qos, $"SUBSCRIBE {filter} at QoS {qos} got [{string.Join(", ", result.ReasonCodes)}]");
        return result;
    }

    public Task DisconnectAsync(DisconnectKind kind) => Session.Disconnect(Gateway.GatewayId, ConnectionId, kind, null);

    /// <summary>The next delivery to this connection's gateway; it must be for this connection.</summary>
    public async Task<Delivery> ReceiveAsync(string awaited)
    {
        var delivery = await Gateway.ReceiveAsync(awaited);
        Assert.True(delivery.ConnectionId == ConnectionId, $"{delivery.Describe()} went to connection {delivery.ConnectionId}, not to {ConnectionId}");
        return delivery;
    }

    /// <summary>
    /// Proves that nothing (else) is on its way to this connection: subscribes to a topic of its own, publishes a marker
    /// there and expects the marker as the very next delivery. Deliveries of one session reach its gateway in the order
    /// the session handed them on, and publishing returns only once the session has handed a message on.
    /// </summary>
    public async Task ExpectNothingBeforeMarkerAsync(string unexpected)
    {
        var marker = Names.Unique("marker/");
        await SubscribeAsync(marker);
        await _cluster.PublishAsync(marker, "marker");
        var next = await ReceiveAsync($"the marker on {marker}");
        Assert.True(next.Message.Topic == marker, $"Expected no {unexpected}, but got {next.Describe()}");
    }
}
