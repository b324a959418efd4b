using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>One item for a connection's writer: a delivery, an acknowledgement or another packet.</summary>
public readonly struct Outbound
{
    private Outbound(OutboundKind kind, Delivery? delivery, PacketIdAck ack, object? packet)
    {
        Kind = kind;
        Delivery = delivery;
        Ack = ack;
        Packet = packet;
    }

    public OutboundKind Kind { get; }
    public Delivery? Delivery { get; }
    public PacketIdAck Ack { get; }
    public object? Packet { get; }

    public static Outbound ForDelivery(Delivery delivery) => new(OutboundKind.Delivery, delivery, default, null);

    public static Outbound ForAck(PacketIdAck ack) => new(OutboundKind.Ack, null, ack, null);

    public static Outbound ForPacket(object packet) => new(OutboundKind.Packet, null, default, packet);

    public static Outbound ForPingResp() => new(OutboundKind.PingResp, null, default, null);

    public static Outbound ForDisconnect(DisconnectPacket packet) => new(OutboundKind.Disconnect, null, default, packet);
}

public enum OutboundKind : byte
{
    Delivery,
    Ack,
    Packet,
    PingResp,
    Disconnect,
}
