using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Infra;

/// <summary>
/// The environment variables infra/ gives the silo and gateway containers, for tests that run the programs with them:
/// the static ones from infra/app-settings.json (which the Bicep loads), and the per-deployment ones found in the
/// compiled template, with local stand-ins for what only exists in Azure.
/// </summary>
public static partial class CloudProfile
{
    /// <summary>Per-deployment settings (DeploymentSettings in infra/modules/container-settings.bicep) a test can stand in for.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownDeploymentSettings = new Dictionary<string, string>
    {
        ["Orleans__ClusterId"] = "clusterId",
        ["Orleans__ServiceId"] = "serviceId",
        ["Azure__ClientId"] = "identityClientId",
        ["Azure__Storage__TableServiceUri"] = "tableServiceUri",
        ["Azure__Storage__BlobServiceUri"] = "blobServiceUri",
        ["Azure__Storage__QueueServiceUri"] = "queueServiceUri",
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "appInsightsConnectionString",
    };

    public static JsonObject AppSettings { get; } =
        JsonNode.Parse(File.ReadAllText(Path.Combine(BrokerProcess.RepositoryRoot, "infra", "app-settings.json")))!.AsObject();

    public static int Port(string name) => (int)AppSettings["ports"]![name]!;

    /// <summary>The static settings of a role ("silo" or "gateway"): the common ones, then the role's own.</summary>
    public static Dictionary<string, string> StaticSettings(string role)
    {
        var settings = new Dictionary<string, string>();
        foreach (var section in new[] { "common", role })
        {
            foreach (var (name, value) in AppSettings[section]!.AsObject())
            {
                settings[name] = (string)value!;
            }
        }

        return settings;
    }

    /// <summary>Environment variable name → DeploymentSettings field, as the compiled template's containerEnv writes them.</summary>
    public static Dictionary<string, string> DeploymentSettingNames(JsonObject compiledMain)
    {
        var text = compiledMain.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        // Each module's nested template carries its own copy of the imported function.
        return DeploymentSetting().Matches(text).Select(m => (Name: m.Groups["name"].Value, Field: m.Groups["field"].Value)).Distinct()
            .ToDictionary(s => s.Name, s => s.Field);
    }

    [GeneratedRegex(@"createObject\('name', '(?<name>[A-Za-z_]+)', 'value', parameters\('deployment'\)\.(?<field>[A-Za-z]+)\)")]
    private static partial Regex DeploymentSetting();
}
