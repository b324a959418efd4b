using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// <c>GET /dashboard?token=...</c>: one plain HTML page (embedded in this assembly, no build step) whose script polls
/// the admin API for the cluster's figures and draws them with SVG.
/// </summary>
public static class Dashboard
{
    public const string Path = "/dashboard";

    private static readonly Lazy<string> Page = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("OrleansMqtt.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("The dashboard page is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static void MapDashboard(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(Path, (HttpContext http, IOptions<AdminOptions> options) => AdminTokenFilter.IsAuthorized(http, options.Value.Token, allowQuery: true)
            ? Results.Content(Page.Value, "text/html; charset=utf-8")
            : Results.Unauthorized()).ExcludeFromDescription();
}
