using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

internal static class Rejects
{
    /// <summary>Asserts that <paramref name="action"/> throws an <see cref="MqttProtocolException"/> with <paramref name="expected"/>.</summary>
    public static void With(ReasonCode expected, Action action)
    {
        var exception = Assert.Throws<MqttProtocolException>(action);
        Assert.Equal(expected, exception.ReasonCode);
    }
}
