using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Interop;

/// <summary>mosquitto_pub/mosquitto_sub and Python paho exchange messages through the broker at every QoS.</summary>
[Collection(BrokerCollection.Name)]
public sealed class InteropTests(BrokerFixture fixture)
{
    private static readonly TimeSpan Patience = MosquittoClients.Patience;
    private readonly string _port = fixture.Broker.Port.ToString();

    public static TheoryData<int, string> QosAndVersion => new()
    {
        { 0, "mqttv311" }, { 1, "mqttv311" }, { 2, "mqttv311" },
        { 0, "mqttv5" }, { 1, "mqttv5" }, { 2, "mqttv5" },
    };

    [Theory]
    [MemberData(nameof(QosAndVersion))]
    public async Task Mosquitto_pub_to_mosquitto_sub(int qos, string version)
    {
        var topic = $"interop/{Guid.NewGuid():N}";
        await using var sub = await StartMosquittoSubAsync(topic, qos, version, count: 3);
        await MosquittoPubAsync(topic, qos, version, ["one", "two", "three"]);

        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Equal(["one", "two", "three"], Messages(sub.Output, exclude: "Client "));
    }

    [Theory]
    [MemberData(nameof(QosAndVersion))]
    public async Task Mosquitto_pub_to_paho(int qos, string version)
    {
        var topic = $"interop/{Guid.NewGuid():N}";
        await using var sub = StartPaho("sub", topic, qos, version, count: 3);
        await sub.WaitForLineAsync("READY", Patience);
        await MosquittoPubAsync(topic, qos, version, ["one", "two", "three"]);

        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Equal(["one", "two", "three"], Messages(sub.Output, exclude: "READY"));
    }

    [Theory]
    [MemberData(nameof(QosAndVersion))]
    public async Task Paho_to_mosquitto_sub(int qos, string version)
    {
        var topic = $"interop/{Guid.NewGuid():N}";
        await using var sub = await StartMosquittoSubAsync(topic, qos, version, count: 3);
        await using var pub = StartPaho("pub", topic, qos, version, count: 3);
        Assert.Equal(0, await pub.WaitForExitAsync(Patience));

        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Equal(["msg-0", "msg-1", "msg-2"], Messages(sub.Output, exclude: "Client "));
    }

    [Theory]
    [MemberData(nameof(QosAndVersion))]
    public async Task Paho_to_paho(int qos, string version)
    {
        var topic = $"interop/{Guid.NewGuid():N}";
        await using var sub = StartPaho("sub", topic, qos, version, count: 5);
        await sub.WaitForLineAsync("READY", Patience);
        await using var pub = StartPaho("pub", topic, qos, version, count: 5);
        Assert.Equal(0, await pub.WaitForExitAsync(Patience));

        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"msg-{i}"), Messages(sub.Output, exclude: "READY"));
    }

    [Fact]
    public async Task Mosquitto_sub_gets_a_retained_message_published_by_mosquitto_pub()
    {
        var topic = $"interop/{Guid.NewGuid():N}/state";
        await MosquittoPubAsync(topic, 1, "mqttv311", ["on"], retain: true);
        await using var sub = ExternalProcess.Start("mosquitto_sub", ["-h", "127.0.0.1", "-p", _port, "-t", topic.Replace("/state", "/+"), "-C", "1", "-F", "%r %t %p"]);
        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Equal($"1 {topic} on", sub.Output.Trim());
    }

    private Task<ExternalProcess> StartMosquittoSubAsync(string topic, int qos, string version, int count) =>
        MosquittoClients.StartSubAsync(fixture.Broker.Port, topic, qos, version, count);

    private Task MosquittoPubAsync(string topic, int qos, string version, string[] messages, bool retain = false) =>
        MosquittoClients.PublishAsync(fixture.Broker.Port, topic, qos, version, messages, retain);

    private ExternalProcess StartPaho(string mode, string topic, int qos, string version, int count) =>
        ExternalProcess.Start("/usr/bin/python3", [
            Path.Combine(AppContext.BaseDirectory, "Interop", "paho_client.py"), mode,
            "--port", _port, "--topic", topic, "--qos", qos.ToString(), "--count", count.ToString(),
            "--version", version == "mqttv5" ? "5" : "4", "--client-id", mode + "-" + Guid.NewGuid().ToString("N")[..16]]);

    private static string[] Messages(string output, string exclude) => MosquittoClients.Messages(output, exclude);
}
