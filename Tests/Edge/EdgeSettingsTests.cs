using Microsoft.Extensions.Options;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Edge;

/// <summary>Bad edge settings stop the broker at start with a message that names the setting, or the file and line.</summary>
public sealed class EdgeSettingsTests
{
    [Fact]
    public async Task TLS_without_a_certificate_names_the_missing_setting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Mqtt:Tls:Enabled"] = "true" }));
        Assert.Contains("Mqtt:Tls:CertificatePath is required", error.Message);
    }

    [Fact]
    public async Task A_short_HS256_secret_is_refused()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Mqtt:Auth:Jwt:Secret"] = "short" }));
        Assert.Contains("Mqtt:Auth:Jwt:Secret must be at least 32 bytes", error.Message);
    }

    [Fact]
    public async Task A_bad_line_in_the_ACL_file_is_reported_with_its_file_and_line()
    {
        var acl = Path.Combine(Path.GetTempPath(), $"acl-{Guid.NewGuid():N}");
        await File.WriteAllLinesAsync(acl, ["user alice", "topic read sensors/#", "topik write x"]);
        try
        {
            // The gateway builds its Authorizer at start (EdgeReport asks for it), so this is what stops it.
            var error = Assert.Throws<FormatException>(() => new OrleansMqtt.Gateway.Authorizer(
                Options.Create(new OrleansMqtt.Gateway.AclOptions { File = acl }), Microsoft.Extensions.Logging.Abstractions.NullLogger<OrleansMqtt.Gateway.Authorizer>.Instance));
            Assert.StartsWith(acl + ":3:", error.Message);
        }
        finally
        {
            File.Delete(acl);
        }
    }

    private static async Task StartAsync(Dictionary<string, string?> settings)
    {
        await using var broker = await EmbeddedBroker.StartAsync(settings);
    }
}
