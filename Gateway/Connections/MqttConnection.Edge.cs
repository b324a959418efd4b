using Microsoft.AspNetCore.Http.Features;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>Authentication of CONNECT (<c>Mqtt:Auth</c>) and the ACL checks of PUBLISH, SUBSCRIBE and wills (<c>Mqtt:Acl</c>).</summary>
public sealed partial class MqttConnection
{
    private ClientIdentity _identity = ClientIdentity.Anonymous;
    private object? _aclVersion;
    private AclRule[] _aclRules = [];

    /// <summary>Checks CONNECT credentials; null: everyone is anonymous.</summary>
    private ConnectAuthenticator? Authentication => _services.Authentication;

    /// <summary>The ACL; null when none is configured (everything is allowed).</summary>
    private Authorizer? Authorization => _services.Authorization;

    /// <summary>
    /// Establishes who the client is, then whether its will may be published. On refusal the CONNACK is written and
    /// false returned. A client that completed enhanced authentication (SCRAM) is that user already.
    /// </summary>
    private async Task<bool> AdmitAsync(ConnectPacket connect, string clientId)
    {
        if (_authenticatedUser is { } scramUser)
        {
            _identity = ClientIdentity.User(scramUser, "scram");
        }
        else if (Authentication is not null)
        {
            var certificate = _context.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
            var result = await Authentication.AuthenticateAsync(clientId, connect.UserName, connect.Password, certificate);
            if (result.Identity is null)
            {
                AuthMetrics.AuthFailed(result.Method, result.Reason);
                var refusal = result.Refusal == ReasonCode.BadUserNameOrPassword ? "bad user name or password" : "not authorized";
                await RefuseConnectAsync(result.Refusal, refusal, $"authentication failed ({result.Method}: {result.Reason})", clientId);
                return false;
            }

            _identity = result.Identity;
            _authenticatedUser = result.Identity.UserName;
        }

        if (connect.Will is { } will && !MayPublish(will.Topic))
        {
            AuthMetrics.AclDenied("publish");
            await RefuseConnectAsync(ReasonCode.NotAuthorized, "will topic not authorized", "the ACL does not allow its will topic " + will.Topic, clientId);
            return false;
        }

        return true;
    }

    /// <summary>CONNACK with a failure, logged once with what the client is not told; never the password.</summary>
    private async Task RefuseConnectAsync(ReasonCode reason, string told, string detail, string clientId)
    {
        Logger.LogInformation("Refused CONNECT of {ClientId} from {Remote}: {Reason}", clientId, _context.RemoteEndPoint, detail);
        var output = _context.Transport.Output;
        var connAck = Version == MqttProtocolVersion.V500 ? new ConnAckPacket { ReasonCode = reason, ReasonString = _requestProblemInformation ? told : null } : new ConnAckPacket { ReasonCode = reason };
        MqttEncoder.WriteConnAck(output, connAck, Version);
        await output.FlushAsync();
        _disconnectReceived = true;
        _endReason = detail;
    }

    private AclRule[] AclRules()
    {
        var version = Authorization!.Version;
        if (!ReferenceEquals(version, _aclVersion))
        {
            _aclRules = Authorization.RulesFor(_identity, ClientId!);
            _aclVersion = version;
        }

        return _aclRules;
    }

    private bool MayPublish(string topic) => Authorization is null || Gateway.AclRules.MayPublish(AclRules(), topic);

    /// <summary>
    /// A PUBLISH the ACL refuses is not published. v5: PUBACK or PUBREC 0x87. v3 has no way to say no: the
    /// acknowledgement says success, and the message is dropped (as mosquitto does). QoS 0 is dropped silently.
    /// </summary>
    private async Task RefusePublishAsync(QualityOfService qos, ushort packetId, string topic)
    {
        AuthMetrics.AclDenied("publish");
        Logger.LogDebug("The ACL refused a PUBLISH of {ClientId} to {Topic}", ClientId, topic);
        if (qos == QualityOfService.AtMostOnce)
        {
            return;
        }

        // Acknowledgements keep the order of the PUBLISH packets: what came before is answered first.
        await FlushBatchAsync();
        var type = qos == QualityOfService.AtLeastOnce ? PacketType.PubAck : PacketType.PubRec;
        var reason = Version == MqttProtocolVersion.V500 ? ReasonCode.NotAuthorized : ReasonCode.Success;
        Enqueue(Outbound.ForAck(new PacketIdAck(type, packetId, reason, reason == ReasonCode.NotAuthorized ? Problem("not authorized to publish to " + topic) : null)));
    }

    /// <summary>
    /// The subscriptions the ACL allows go to the session; the refused ones get 0x87 (v3: 0x80) in the SUBACK, in
    /// their place. Null when all are allowed.
    /// </summary>
    private bool[]? RefusedSubscriptions(SubscriptionRequest[] requests)
    {
        if (Authorization is null)
        {
            return null;
        }

        bool[]? refused = null;
        var rules = AclRules();
        for (var i = 0; i < requests.Length; i++)
        {
            if (!Gateway.AclRules.MaySubscribe(rules, requests[i].Filter))
            {
                refused ??= new bool[requests.Length];
                refused[i] = true;
                AuthMetrics.AclDenied("subscribe");
                Logger.LogDebug("The ACL refused a SUBSCRIBE of {ClientId} to {Filter}", ClientId, requests[i].Filter);
            }
        }

        return refused;
    }

    private async Task<SubscribeResult> SubscribeAllowedAsync(SubscribePacket packet, SubscriptionRequest[] requests)
    {
        var refused = RefusedSubscriptions(requests);
        if (refused is null)
        {
            return await SubscribeWithinLimitsAsync(requests, packet.SubscriptionIdentifier);
        }

        var allowed = requests.Where((_, i) => !refused[i]).ToArray();
        var result = allowed.Length > 0 ? await SubscribeWithinLimitsAsync(allowed, packet.SubscriptionIdentifier) : new SubscribeResult([], []);
        var codes = new byte[requests.Length];
        for (int i = 0, next = 0; i < codes.Length; i++)
        {
            codes[i] = refused[i] ? (byte)ReasonCode.NotAuthorized : result.ReasonCodes[next++];
        }

        return new SubscribeResult(codes, result.Retained);
    }
}
