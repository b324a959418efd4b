using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// One client connection: reads packets from the pipe, talks to the client's session grain, and writes what goes
/// back through a single writer. Consecutive PUBLISH packets in one read are handed to the grains as one batch.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source, created only for a retry's wait, has no timer; Close may still cancel it from other threads after the connection ended.")]
public sealed partial class MqttConnection
{
    private readonly ConnectionContext _context;
    private readonly ConnectionServices _services;
    private TopicNameCache? _topicNames;
    private LastTopicGrain? _topicGrains;
    private CancellationTokenSource? _closingSource;
    private readonly long _acceptedAt = Environment.TickCount64;
    private long _lastActivity = Environment.TickCount64;
    private int _closeRequested;
    private ISessionGrain? _session;
    private bool _connected;
    private bool _disconnectReceived;
    private bool _requestProblemInformation = true;
    private DisconnectKind _disconnectKind = DisconnectKind.Abnormal;
    private uint? _disconnectExpiry;
    private string _endReason = "connection closed by the client";

    public MqttConnection(ConnectionContext context, ConnectionServices services, long id)
    {
        _context = context;
        _services = services;
        Id = id;
    }

    /// <summary>Made for each line logged (rare), so that a connection holds no logger of its own.</summary>
    private ConnectionLogger Logger => new(_services.Logger, _services.Endpoint.GatewayId, Id, ClientId);

    public long Id { get; }

    public string? ClientId { get; private set; }

    public MqttProtocolVersion Version { get; private set; } = MqttProtocolVersion.V311;

    public ushort KeepAliveSeconds { get; private set; }

    /// <summary>The silo that holds this connection's session in memory only (expiry 0); null when it is stored.</summary>
    public SiloAddress? SessionHost { get; set; }

    // The will of a session kept in memory only, and whether that session died with its silo (SessionHostWatch).
    private WillSpec? _willOfMemorySession;
    private bool _sessionLost;

    /// <summary>
    /// Closes a connection whose session died with its silo (v5: DISCONNECT 0x89). The server ends it without the
    /// client's DISCONNECT, so its will is published, from the copy kept here (<see cref="ISessionGrain.EndLost"/>).
    /// </summary>
    public void CloseLostSession()
    {
        _sessionLost = true;
        Close(ReasonCode.ServerBusy, "its session's silo died");
    }

    public async Task RunAsync()
    {
        _services.Registry.Add(this);
        try
        {
            // The read loop is here rather than in a method of its own: one state machine per connection, not two.
            var input = _context.Transport.Input;
            while (true)
            {
                var result = await input.ReadAsync();
                if (result.IsCanceled && IsClosing)
                {
                    input.AdvanceTo(result.Buffer.Start);
                    return;
                }

                var buffer = result.Buffer;
                try
                {
                    while (MqttFrameReader.TryRead(buffer, MaxInboundPacketSize, out var frame, out var consumed))
                    {
                        Volatile.Write(ref _lastActivity, Environment.TickCount64);
                        var handled = HandleAsync(frame);
                        if (!handled.IsCompletedSuccessfully)
                        {
                            await handled;
                        }

                        buffer = buffer.Slice(consumed);
                        if (_disconnectReceived)
                        {
                            break;
                        }
                    }

                    // What was read before DISCONNECT or the end of the stream is still routed.
                    await FlushBatchAsync();
                    if (_disconnectReceived)
                    {
                        return;
                    }
                }
                finally
                {
                    BrokerMetrics.BytesReceived(result.Buffer.Length - buffer.Length);
                    input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (MqttProtocolException ex)
        {
            CountViolation(ex);
            Logger.LogInformation("Closing connection {ConnectionId} ({ClientId}): {Reason} (0x{Code:X2})", Id, ClientId ?? _context.RemoteEndPoint?.ToString(), ex.Message, (byte)ex.ReasonCode);
            Close(ex.ReasonCode, ex.Message);
        }
        catch (OperationCanceledException) when (IsClosing)
        {
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ConnectionResetException or ConnectionAbortedException)
        {
            _endReason = "network error: " + ex.Message;
        }
        catch (Exception ex)
        {
            Logger.LogError(ex, "Connection {ConnectionId} ({ClientId}) failed", Id, ClientId);
            Close(ReasonCode.UnspecifiedError, "internal error");
        }
        finally
        {
            _services.Registry.Remove(this);
            await StopWritingAsync(WritePatience);
            OnEnded();
            await EndSessionAsync();
        }
    }

    /// <summary>
    /// A Reason String for an acknowledgement: v5 only, and only when the client did not set Request Problem
    /// Information to 0 [MQTT-3.1.2-29].
    /// </summary>
    private string? Problem(string why) => Version == MqttProtocolVersion.V500 && _requestProblemInformation ? why : null;

    /// <summary>Starts closing: v5 clients get DISCONNECT with the reason first. Safe from any thread.</summary>
    public void Close(ReasonCode reason, string why, string? serverReference = null)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        _endReason = why;
        _closeCode = reason;
        if (_connected && Version == MqttProtocolVersion.V500 && !_disconnectReceived)
        {
            // The reason string only when the client did not ask to be spared it [MQTT-3.1.2-29].
            var reasonString = _requestProblemInformation ? why : null;
            TryEnqueue(Outbound.ForDisconnect(new DisconnectPacket { ReasonCode = reason, ReasonString = reasonString, ServerReference = serverReference }));
        }

        CompleteQueue();
        StopReading();
    }

    private bool IsClosing => Volatile.Read(ref _closeRequested) != 0;

    /// <summary>Cuts the connection without a goodbye: for the connections still open when the gateway stops.</summary>
    public void Abort() => _context.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the gateway stopped"));

    /// <summary>
    /// Ends the read loop: its pending read returns at once, or the next one does. No token is passed to the reads,
    /// so an idle connection holds no token source and no registration.
    /// </summary>
    private void StopReading()
    {
        _context.Transport.Input.CancelPendingRead();
        Volatile.Read(ref _closingSource)?.Cancel();
    }

    /// <summary>Cancelled when the connection closes; the token source exists only once something waits on it.</summary>
    private CancellationToken ClosingToken
    {
        get
        {
            var source = Volatile.Read(ref _closingSource);
            if (source is null)
            {
                var created = new CancellationTokenSource();
                source = Interlocked.CompareExchange(ref _closingSource, created, null) ?? created;
                if (!ReferenceEquals(source, created))
                {
                    created.Dispose();
                }
            }

            // Close may have looked for the source before it was there.
            if (IsClosing)
            {
                source.Cancel();
            }

            return source.Token;
        }
    }

    /// <summary>Called by the gateway's sweep: CONNECT timeout and keep-alive expiry (1.5 × keep-alive [MQTT-3.1.2-24]).</summary>
    public void CheckTimeouts(long now)
    {
        if (!_connected)
        {
            if (now - _acceptedAt > (long)_services.Options.ConnectTimeout.TotalMilliseconds)
            {
                Limits.Report(LimitNames.ConnectTimeout, $"connection {Id} from {_context.RemoteEndPoint} sent no CONNECT within {_services.Options.ConnectTimeout}");
                Close(ReasonCode.MaximumConnectTime, "no CONNECT in time");
            }

            return;
        }

        if (KeepAliveSeconds > 0 && now - Volatile.Read(ref _lastActivity) > KeepAliveSeconds * 1500L)
        {
            Logger.LogInformation("Client {ClientId} kept no keep-alive ({KeepAlive} s)", ClientId, KeepAliveSeconds);
            Close(ReasonCode.KeepAliveTimeout, "keep-alive timeout");
        }
    }

    private ValueTask HandleAsync(in MqttFrame frame)
    {
        if (_services.Endpoint.Traces.Any)
        {
            TraceInbound(frame);
        }

        if (!_connected)
        {
            // The first packet must be CONNECT [MQTT-3.1.0-1].
            return frame.Type switch
            {
                PacketType.Connect when _pendingConnect is null => new ValueTask(HandleConnectAsync(frame)),
                PacketType.Auth when _pendingConnect is not null => new ValueTask(HandleConnectAuthAsync(frame)),
                _ => throw new MqttProtocolException(ReasonCode.ProtocolError, $"{frame.Type} before CONNECT completed"),
            };
        }

        switch (frame.Type)
        {
            case PacketType.Publish:
                return HandlePublishAsync(MqttDecoder.DecodePublish(frame, Version, _topicNames ??= new()));
            case PacketType.PubAck:
            case PacketType.PubRec:
            case PacketType.PubComp:
                AddClientAck(MqttDecoder.DecodeAck(frame, Version));
                return ValueTask.CompletedTask;
            case PacketType.PubRel:
                return HandlePubRel(MqttDecoder.DecodeAck(frame, Version));
            case PacketType.Subscribe:
                return new ValueTask(HandleSubscribeAsync(MqttDecoder.DecodeSubscribe(frame, Version)));
            case PacketType.Unsubscribe:
                return new ValueTask(HandleUnsubscribeAsync(MqttDecoder.DecodeUnsubscribe(frame, Version)));
            case PacketType.PingReq:
                MqttDecoder.ValidatePing(frame);
                Enqueue(Outbound.ForPingResp());
                return ValueTask.CompletedTask;
            case PacketType.Disconnect:
                HandleDisconnect(MqttDecoder.DecodeDisconnect(frame, Version));
                return ValueTask.CompletedTask;
            case PacketType.Connect:
                throw new MqttProtocolException(ReasonCode.ProtocolError, "a second CONNECT [MQTT-3.1.0-2]");
            case PacketType.Auth:
                return new ValueTask(HandleReauthenticationAsync(MqttDecoder.DecodeAuth(frame, Version)));
            default:
                throw new MqttProtocolException(ReasonCode.ProtocolError, $"a client may not send {frame.Type}");
        }
    }

    private void HandleDisconnect(DisconnectPacket packet)
    {
        // A session that ends at disconnect cannot be given an expiry now [MQTT-3.14.2-2].
        if (packet.SessionExpiryInterval is { } expiry && expiry != 0 && _sessionExpiry == 0)
        {
            throw new MqttProtocolException(ReasonCode.ProtocolError, "session expiry set at DISCONNECT after CONNECT had 0");
        }

        _disconnectReceived = true;
        _disconnectKind = packet.ReasonCode == ReasonCode.DisconnectWithWillMessage ? DisconnectKind.NormalWithWill : DisconnectKind.Normal;
        _disconnectExpiry = packet.SessionExpiryInterval is { } requested ? Math.Min(requested, _services.Options.MaximumSessionExpiryInterval) : null;
        _endReason = "DISCONNECT from the client";
    }

    private async Task EndSessionAsync()
    {
        if (_session is null || !_connected)
        {
            return;
        }

        Logger.LogDebug("Client {ClientId} disconnected: {Reason}", ClientId, _endReason);
        try
        {
            if (_sessionLost && _willOfMemorySession is { } will && _disconnectKind != DisconnectKind.Normal)
            {
                await _session.EndLost(_services.Endpoint.GatewayId, Id, will);
            }
            else
            {
                await _session.Disconnect(_services.Endpoint.GatewayId, Id, _disconnectKind, _disconnectExpiry);
            }
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "Could not tell the session of {ClientId} that its connection ended", ClientId);
        }
    }

    private void Enqueue(Outbound item) => TryEnqueue(item);

    /// <summary>A delivery from a grain. Thread-safe; a client that falls too far behind is disconnected.</summary>
    public void Send(Delivery delivery) => EnqueueDelivery(delivery);
}
