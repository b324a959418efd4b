using System.Diagnostics.Metrics;
using MQTTnet;
using MQTTnet.Formatter;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>CONNECT user name and password checked against the password file; anonymous clients refused when settings say so.</summary>
[Collection(EdgeBrokerCollection.Name)]
public sealed class PasswordAuthenticationTests(EdgeBrokerFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_user_with_the_right_password_connects(MqttProtocolVersion version)
    {
        var (code, error) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("pw"), version, b => b.WithCredentials(EdgeBrokerFixture.Alice, EdgeBrokerFixture.AlicePassword));
        Assert.Null(error);
        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_wrong_password_is_refused_as_bad_user_name_or_password(MqttProtocolVersion version)
    {
        var (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("pw"), version, b => b.WithCredentials(EdgeBrokerFixture.Alice, "guess"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, code);
    }

    [Fact]
    public async Task An_unknown_user_is_refused_as_bad_user_name_or_password()
    {
        var (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("pw"), MqttProtocolVersion.V500, b => b.WithCredentials("mallory", "anything"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, code);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task A_client_without_credentials_is_not_authorized_when_anonymous_clients_are_refused(MqttProtocolVersion version)
    {
        var (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("anon"), version, _ => { });
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, code);
    }

    [Fact]
    public async Task Refusals_are_counted_by_method_and_reason()
    {
        var counted = new System.Collections.Concurrent.ConcurrentBag<(string Method, string Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "OrleansMqtt" && instrument.Name == "mqtt.auth.failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? method = null, reason = null;
            foreach (var tag in tags)
            {
                (method, reason) = tag.Key switch { "method" => ((string?)tag.Value, reason), "reason" => (method, (string?)tag.Value), _ => (method, reason) };
            }

            counted.Add((method!, reason!));
        });
        listener.Start();

        await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("pw"), MqttProtocolVersion.V500, b => b.WithCredentials(EdgeBrokerFixture.Bob, "guess"));
        await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("anon"), MqttProtocolVersion.V311, _ => { });

        Assert.Contains(("password", "bad-password"), counted);
        Assert.Contains(("anonymous", "anonymous-refused"), counted);
    }

    [Fact]
    public async Task The_passwd_command_adds_a_user_the_broker_accepts_once_the_file_is_read_again()
    {
        var users = fixture.Certificates.PathOf("users");
        var configuration = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var gateway = Path.Combine(BrokerProcess.RepositoryRoot, "Gateway", "bin", configuration, "net10.0", "OrleansMqtt.Gateway.dll");
        await using (var passwd = ExternalProcess.Start("dotnet", [gateway, "passwd", users, "carol"], standardInput: "carol's password\n"))
        {
            Assert.Equal(0, await passwd.WaitForExitAsync(Patience));
        }

        Assert.Contains("carol:scram-sha-256$", await File.ReadAllTextAsync(users));

        // The password file is re-read when it changes (checked at most once a second).
        var deadline = DateTime.UtcNow + TestClient.Patience;
        MqttClientConnectResultCode? code;
        do
        {
            (code, _) = await EdgeConnect.TryAsync(fixture.Port, EdgeConnect.NewId("carol"), MqttProtocolVersion.V311, b => b.WithCredentials("carol", "carol's password"));
        }
        while (code != MqttClientConnectResultCode.Success && DateTime.UtcNow < deadline && await Task.Delay(200).ContinueWith(_ => true));

        Assert.Equal(MqttClientConnectResultCode.Success, code);
    }
}
