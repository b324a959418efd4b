using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    private uint _sessionExpiry;
    private uint? _clientMaximumPacketSize;

    // Enhanced authentication (v5): the method of this connection, and the exchange under way, if any.
    private string? _authMethod;
    private IEnhancedAuthentication? _authentication;
    private ConnectPacket? _pendingConnect;
    private string? _authenticatedUser;

    /// <summary>The enhanced authentication methods the gateway offers, by name.</summary>
    private IReadOnlyDictionary<string, IEnhancedAuthenticator> Authenticators => _services.Authenticators;

    private async Task HandleConnectAsync(MqttFrame frame)
    {
        ConnectPacket connect;
        try
        {
            connect = MqttDecoder.DecodeConnect(frame);
        }
        catch (MqttProtocolException ex) when (ex.ReasonCode == ReasonCode.UnsupportedProtocolVersion)
        {
            // Answer in the form every version understands: CONNACK return code 0x01 [MQTT-3.1.2-2].
            await RejectAsync(MqttProtocolVersion.V311, ReasonCode.UnsupportedProtocolVersion, ex.Message);
            return;
        }

        Version = connect.ProtocolVersion;
        if (await RefusedByLimitsAsync())
        {
            return;
        }

        if (_services.Options.Redirect.ServerReference is { Length: > 0 } reference)
        {
            // Draining this gateway: v5 clients are told where to go (4.11); v3 clients only that we are unavailable.
            var reason = _services.Options.Redirect.Permanent ? ReasonCode.ServerMoved : ReasonCode.UseAnotherServer;
            await RejectAsync(Version, Version == MqttProtocolVersion.V500 ? reason : ReasonCode.ServerUnavailable, "redirected to " + reference, reference);
            return;
        }

        if (Version == MqttProtocolVersion.V500 && connect.AuthenticationMethod is { } method)
        {
            if (!Authenticators.TryGetValue(method, out var authenticator))
            {
                await RejectAsync(Version, ReasonCode.BadAuthenticationMethod, $"authentication method '{method}' is not supported");
                return;
            }

            _authMethod = method;
            _authentication = authenticator.Begin();
            _pendingConnect = connect;
            await ContinueConnectAuthenticationAsync(_authentication.Step(connect.AuthenticationData ?? []));
            return;
        }

        await CompleteConnectAsync(connect, null);
    }

    /// <summary>The client's AUTH during an enhanced-authentication CONNECT (4.12).</summary>
    private async Task HandleConnectAuthAsync(MqttFrame frame)
    {
        var auth = MqttDecoder.DecodeAuth(frame, Version);
        if (_authentication is null || auth.ReasonCode != ReasonCode.ContinueAuthentication || auth.AuthenticationMethod != _authMethod)
        {
            throw new MqttProtocolException(ReasonCode.ProtocolError, "AUTH does not continue the authentication begun in CONNECT [MQTT-4.12.0-5]");
        }

        await ContinueConnectAuthenticationAsync(_authentication.Step(auth.AuthenticationData ?? []));
    }

    private async Task ContinueConnectAuthenticationAsync(AuthStep step)
    {
        switch (step.Outcome)
        {
            case AuthOutcome.Continue:
                // The writer has not started: this is the only writer until CONNACK.
                MqttEncoder.WriteAuth(_context.Transport.Output, new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, AuthenticationMethod = _authMethod, AuthenticationData = step.Data });
                await _context.Transport.Output.FlushAsync();
                break;
            case AuthOutcome.Success:
                _authenticatedUser = step.UserName;
                var connect = _pendingConnect!;
                _pendingConnect = null;
                _authentication = null;
                await CompleteConnectAsync(connect, step.Data);
                break;
            default:
                await RejectAsync(Version, ReasonCode.BadUserNameOrPassword, "authentication failed: " + step.Reason);
                break;
        }
    }

    private async Task CompleteConnectAsync(ConnectPacket connect, byte[]? authenticationData)
    {
        var clientId = connect.ClientId;
        string? assigned = null;
        if (clientId.Length == 0)
        {
            // v3 requires clean session for an empty client id [MQTT-3.1.3-7, 3.1.3-8]; v5 assigns one (3.1.3.1).
            if (Version != MqttProtocolVersion.V500 && !connect.CleanStart)
            {
                await RejectAsync(Version, ReasonCode.ClientIdentifierNotValid, "empty client id without clean session");
                return;
            }

            clientId = assigned = "auto-" + Guid.NewGuid().ToString("N");
        }

        if (BridgeClientIds.IsReserved(clientId))
        {
            // The queue bridges' sessions: a device taking one over would steal the bridge's messages.
            await RejectAsync(Version, ReasonCode.ClientIdentifierNotValid, $"client ids starting with {BridgeClientIds.Prefix} are reserved");
            return;
        }

        ClientId = clientId;
        if (!await AdmitAsync(connect, clientId))
        {
            return;
        }

        var requestedExpiry = Version == MqttProtocolVersion.V500 ? connect.SessionExpiryInterval : connect.CleanStart ? 0 : SessionExpiry.Never;
        _sessionExpiry = Math.Min(requestedExpiry, _services.Options.MaximumSessionExpiryInterval);
        _clientTopicAliasMaximum = Version == MqttProtocolVersion.V500 ? connect.TopicAliasMaximum : (ushort)0;
        _requestProblemInformation = connect.RequestProblemInformation;
        _clientMaximumPacketSize = connect.MaximumPacketSize;
        WillSpec? will = connect.Will is { } w ? new WillSpec(MessageMapping.ToMessage(w, clientId), w.Properties?.WillDelayInterval ?? 0) : null;
        _session = _services.Grains.Reference<ISessionGrain>(clientId);

        ConnectResult result;
        try
        {
            result = await _session.Connect(new ConnectRequest(
                _services.Endpoint.RefFor(Id), (byte)Version, connect.CleanStart, _sessionExpiry, will, connect.ReceiveMaximum, _authenticatedUser ?? connect.UserName));
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "Session of {ClientId} could not be reached", clientId);
            await RejectAsync(Version, ReasonCode.ServerUnavailable, "session unavailable");
            return;
        }

        KeepAliveSeconds = connect.KeepAliveSeconds;
        SessionHost = _services.Registry.InternSessionHost(result.Host);

        // A session kept in memory only dies with its silo, and its will with it: this copy is published for it then.
        _willOfMemorySession = result.Host is null ? null : will;
        var connAck = new ConnAckPacket { SessionPresent = result.SessionPresent, ReasonCode = ReasonCode.Success };
        if (Version == MqttProtocolVersion.V500)
        {
            // The server keep alive replaces the client's when set [MQTT-3.2.2-21].
            ushort? serverKeepAlive = _services.Options.ServerKeepAlive is { } limit && (connect.KeepAliveSeconds == 0 || connect.KeepAliveSeconds > limit) ? (ushort)limit : null;
            KeepAliveSeconds = serverKeepAlive ?? connect.KeepAliveSeconds;
            connAck = new ConnAckPacket
            {
                SessionPresent = result.SessionPresent,
                ReasonCode = ReasonCode.Success,
                AssignedClientIdentifier = assigned,
                SessionExpiryInterval = _sessionExpiry != requestedExpiry ? _sessionExpiry : null,
                ServerKeepAlive = serverKeepAlive,
                ReceiveMaximum = (ushort)_services.Options.ReceiveMaximum,
                MaximumPacketSize = (uint)_services.Options.MaxPacketSize,
                TopicAliasMaximum = (ushort)_services.Options.TopicAliasMaximum,
                RetainAvailable = true,
                WildcardSubscriptionAvailable = true,
                SubscriptionIdentifiersAvailable = true,
                SharedSubscriptionAvailable = true,
                ResponseInformation = connect.RequestResponseInformation && _services.Options.ResponseInformationPrefix is { } prefix ? prefix + clientId : null,
                AuthenticationMethod = _authMethod,
                AuthenticationData = authenticationData,
            };
        }

        // CONNACK goes first and the writer starts only after it, so deliveries that raced ahead wait in the queue.
        var output = _context.Transport.Output;
        MqttEncoder.WriteConnAck(output, connAck, Version);
        foreach (var delivery in result.Pending)
        {
            Write(output, Outbound.ForDelivery(delivery));
        }

        await output.FlushAsync();
        _connected = true;
        OnConnected();
        StartWriting();
        Logger.LogDebug("Client {ClientId} connected (v{Version}, session present: {SessionPresent})", clientId, (byte)Version, result.SessionPresent);
        if (IsClosing)
        {
            StopReading();
        }
    }

    /// <summary>CONNACK with a failure code, then close [MQTT-3.2.2-5]; session present is 0 [MQTT-3.2.2-4].</summary>
    private async Task RejectAsync(MqttProtocolVersion version, ReasonCode reason, string why, string? serverReference = null)
    {
        Logger.LogInformation("Refused CONNECT on connection {ConnectionId} from {Remote}: {Reason}", Id, _context.RemoteEndPoint, why);
        var output = _context.Transport.Output;
        var connAck = version == MqttProtocolVersion.V500
            ? new ConnAckPacket { ReasonCode = reason, ReasonString = why, ServerReference = serverReference }
            : new ConnAckPacket { ReasonCode = reason };
        MqttEncoder.WriteConnAck(output, connAck, version);
        await output.FlushAsync();
        _disconnectReceived = true;
        _endReason = why;
    }
}
