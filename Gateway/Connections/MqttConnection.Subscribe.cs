using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

public sealed partial class MqttConnection
{
    private async Task HandleSubscribeAsync(SubscribePacket packet)
    {
        await FlushBatchAsync();
        var requests = new SubscriptionRequest[packet.Subscriptions.Count];
        for (var i = 0; i < requests.Length; i++)
        {
            var s = packet.Subscriptions[i];
            requests[i] = new SubscriptionRequest(s.Filter, (byte)s.MaximumQos, s.NoLocal, s.RetainAsPublished, (byte)s.RetainHandling);
        }

        var result = await SubscribeAllowedAsync(packet, requests);
        var codes = new ReasonCode[result.ReasonCodes.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = (ReasonCode)result.ReasonCodes[i];
        }

        // SUBACK first, then the retained messages the new subscriptions match.
        var refused = codes.Count(c => (byte)c >= 0x80);
        var why = refused == 0 ? null : Problem($"{refused} of {codes.Length} topic filters refused");
        Enqueue(Outbound.ForPacket(new SubAckPacket { PacketId = packet.PacketId, ReasonCodes = codes, ReasonString = why }));
        foreach (var delivery in result.Retained)
        {
            Send(delivery);
        }
    }

    private async Task HandleUnsubscribeAsync(UnsubscribePacket packet)
    {
        await FlushBatchAsync();
        var result = await _session!.Unsubscribe(Id, [.. packet.Filters]);
        ForgetSubscriptions(packet.Filters);
        var codes = new ReasonCode[result.Length];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = (ReasonCode)result[i];
        }

        Enqueue(Outbound.ForPacket(new UnsubAckPacket { PacketId = packet.PacketId, ReasonCodes = codes }));
    }
}
