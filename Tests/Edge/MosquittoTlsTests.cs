using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>mosquitto_sub and mosquitto_pub over TLS, trusting the test CA with --cafile, with passwords and a client certificate.</summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class MosquittoTlsTests(EdgeBrokerFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Mosquitto_clients_exchange_messages_over_TLS_with_the_test_CA()
    {
        var topic = $"sensors/{Guid.NewGuid():N}/temp";
        string[] tls = ["-h", "localhost", "-p", fixture.TlsPort.ToString(), "--cafile", fixture.Certificates.CaPemPath];

        // -d prints the packets, so the test knows when SUBACK arrived; stdbuf makes it print them as they happen.
        await using var sub = ExternalProcess.Start("stdbuf", ["-oL", "mosquitto_sub", .. tls, "-u", EdgeBrokerFixture.Bob, "-P", EdgeBrokerFixture.BobPassword, "-t", topic, "-q", "1", "-C", "1", "-d", "-V", "mqttv5"]);
        await sub.WaitForLineAsync("SUBACK", Patience);
        await using (var pub = ExternalProcess.Start("mosquitto_pub", [.. tls, "-u", EdgeBrokerFixture.Alice, "-P", EdgeBrokerFixture.AlicePassword, "-t", topic, "-q", "1", "-m", "21.5"]))
        {
            Assert.Equal(0, await pub.WaitForExitAsync(Patience));
        }

        Assert.Equal(0, await sub.WaitForExitAsync(Patience));
        Assert.Contains("21.5", sub.Output.Split('\n', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Mosquitto_pub_with_a_client_certificate_is_the_user_its_certificate_names()
    {
        using var certificate = fixture.Certificates.IssueClient("device-7");
        var (certificatePath, keyPath) = (fixture.Certificates.PathOf("device-7.crt"), fixture.Certificates.PathOf("device-7.key"));
        TestCertificates.WritePem(certificate, certificatePath, keyPath);
        string[] tls = ["-h", "localhost", "-p", fixture.TlsPort.ToString(), "--cafile", fixture.Certificates.CaPemPath, "--cert", certificatePath, "--key", keyPath, "-V", "mqttv5", "-q", "1"];

        // certs/# is device-7's alone; elsewhere it gets PUBACK 0x87, which mosquitto_pub reports as a failure.
        await using (var allowed = ExternalProcess.Start("mosquitto_pub", [.. tls, "-t", "certs/one", "-m", "x"]))
        {
            Assert.Equal(0, await allowed.WaitForExitAsync(Patience));
        }

        await using var refused = ExternalProcess.Start("mosquitto_pub", [.. tls, "-t", "sensors/one", "-m", "x"]);
        await refused.WaitForExitAsync(Patience);
        Assert.Contains("failed: Not authorized", refused.Output, StringComparison.Ordinal);
    }
}
