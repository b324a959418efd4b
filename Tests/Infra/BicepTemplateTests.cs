using System.Text.Json.Nodes;

namespace OrleansMqtt.Tests.Infra;

/// <summary>infra/ compiles and lints clean: any warning fails, since Bicep reports property typos only as warnings.</summary>
public sealed class BicepTemplateTests
{
    [Fact]
    public async Task Bicep_build_of_main_reports_no_warning_or_error()
    {
        var (exitCode, output, errors) = await BicepCli.BuildMainAsync();
        Assert.True(exitCode == 0, $"bicep build exited with {exitCode}:\n{errors}");
        AssertNoDiagnostics(errors);
        Assert.StartsWith("{", output.TrimStart(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bicep_lint_of_main_reports_no_warning_or_error()
    {
        var (exitCode, output, errors) = await BicepCli.RunAsync("lint", BicepCli.MainTemplate);
        Assert.True(exitCode == 0, $"bicep lint exited with {exitCode}:\n{output}\n{errors}");
        AssertNoDiagnostics(output + errors);
    }

    [Fact]
    public async Task The_template_holds_no_keys_and_turns_shared_keys_and_the_registry_admin_user_off()
    {
        var template = (await BicepCli.CompiledMainAsync()).ToJsonString();
        Assert.DoesNotContain("listKeys", template, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secureString", template, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"secrets\"", template, StringComparison.Ordinal);
        Assert.Contains("\"allowSharedKeyAccess\":false", template, StringComparison.Ordinal);
        Assert.Contains("\"adminUserEnabled\":false", template, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_silo_app_runs_exactly_one_replica_and_gateways_scale_between_parameters()
    {
        var main = await BicepCli.CompiledMainAsync();
        var silo = ContainerApp(Module(main, "silo"));
        Assert.Equal(1, (int)silo["properties"]!["template"]!["scale"]!["minReplicas"]!);
        Assert.Equal(1, (int)silo["properties"]!["template"]!["scale"]!["maxReplicas"]!);
        Assert.Equal("[length(range(0, parameters('siloCount')))]", (string?)Module(main, "silo")["copy"]!["count"]);
        Assert.Equal(3, (int)main["parameters"]!["siloCount"]!["defaultValue"]!);

        var gateway = ContainerApp(Module(main, "gateway"));
        Assert.Equal("[parameters('minReplicas')]", (string?)gateway["properties"]!["template"]!["scale"]!["minReplicas"]);
        Assert.Equal("[parameters('maxReplicas')]", (string?)gateway["properties"]!["template"]!["scale"]!["maxReplicas"]);
    }

    [Fact]
    public async Task The_containers_get_the_settings_of_app_settings_json_and_the_per_deployment_ones()
    {
        var main = await BicepCli.CompiledMainAsync();
        Assert.Equal("[__bicep.containerEnv(union(variables('appSettings').common, variables('appSettings').silo), parameters('deployment'))]", (string?)Container(Module(main, "silo"))["env"]);
        Assert.Equal("[__bicep.containerEnv(union(variables('appSettings').common, variables('appSettings').gateway), parameters('deployment'))]", (string?)Container(Module(main, "gateway"))["env"]);
        var names = CloudProfile.DeploymentSettingNames(main);
        Assert.Equal(CloudProfile.KnownDeploymentSettings.Keys.Order(), names.Keys.Order());
    }

    private static void AssertNoDiagnostics(string text)
    {
        Assert.False(text.Contains("Warning", StringComparison.OrdinalIgnoreCase) || text.Contains("Error", StringComparison.OrdinalIgnoreCase),
            "Bicep reported diagnostics:\n" + text);
    }

    /// <summary>The nested deployment of a module of main.bicep (by the start of its deployment name).</summary>
    internal static JsonObject Module(JsonObject main, string name) =>
        Resources(main)
            .Single(r => (string?)r["type"] == "Microsoft.Resources/deployments" && ((string?)r["name"])!.Contains(name, StringComparison.Ordinal));

    private static JsonObject ContainerApp(JsonObject module) =>
        Resources(module["properties"]!["template"]!).Single(r => (string?)r["type"] == "Microsoft.App/containerApps");

    /// <summary>A template's resources: an array, or an object keyed by symbolic name (language version 2.0).</summary>
    private static IEnumerable<JsonObject> Resources(JsonNode template) => template["resources"] switch
    {
        JsonArray array => array.Select(r => r!.AsObject()),
        JsonObject byName => byName.Select(r => r.Value!.AsObject()),
        _ => [],
    };

    private static JsonObject Container(JsonObject module) =>
        ContainerApp(module)["properties"]!["template"]!["containers"]![0]!.AsObject();
}
