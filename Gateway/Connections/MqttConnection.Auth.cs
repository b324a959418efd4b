using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    private IEnhancedAuthentication? _reauthentication;

    /// <summary>
    /// Re-authentication (4.12.1): the client starts it with AUTH 0x19, using the method of its CONNECT; the
    /// exchange goes on with AUTH 0x18 and ends with AUTH 0x00, or DISCONNECT 0x87 when it fails.
    /// </summary>
    private async Task HandleReauthenticationAsync(AuthPacket auth)
    {
        await FlushBatchAsync();
        if (_authMethod is null || auth.AuthenticationMethod != _authMethod)
        {
            // AUTH without an authentication method in CONNECT, or with another one [MQTT-4.12.0-1, MQTT-4.12.1-1].
            throw new MqttProtocolException(ReasonCode.ProtocolError, "AUTH does not match the authentication method of CONNECT");
        }

        if (auth.ReasonCode == ReasonCode.ReAuthenticate)
        {
            _reauthentication = Authenticators[_authMethod].Begin();
        }
        else if (auth.ReasonCode != ReasonCode.ContinueAuthentication || _reauthentication is null)
        {
            throw new MqttProtocolException(ReasonCode.ProtocolError, "AUTH continues no re-authentication");
        }

        var step = _reauthentication.Step(auth.AuthenticationData ?? []);
        switch (step.Outcome)
        {
            case AuthOutcome.Continue:
                Enqueue(Outbound.ForPacket(new AuthPacket { ReasonCode = ReasonCode.ContinueAuthentication, AuthenticationMethod = _authMethod, AuthenticationData = step.Data }));
                break;
            case AuthOutcome.Success when step.UserName == _authenticatedUser:
                _reauthentication = null;
                Enqueue(Outbound.ForPacket(new AuthPacket { ReasonCode = ReasonCode.Success, AuthenticationMethod = _authMethod, AuthenticationData = step.Data }));
                break;
            default:
                Logger.LogInformation("Re-authentication of {ClientId} failed: {Reason}", ClientId, step.Reason ?? "another user");
                Close(ReasonCode.NotAuthorized, "re-authentication failed");
                break;
        }
    }
}
