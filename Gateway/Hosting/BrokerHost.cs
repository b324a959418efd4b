using Microsoft.AspNetCore.Builder;

namespace OrleansMqtt.Gateway;

/// <summary>How the broker's programs (silo and gateway) are set up before their services are added.</summary>
public static class BrokerHost
{
    /// <summary>
    /// A builder whose settings come from the <c>appsettings.json</c> next to the program, wherever it is started
    /// from: ASP.NET Core's default content root is the working directory, so <c>dotnet /opt/mqtt/OrleansMqtt.Silo.dll</c>
    /// started elsewhere would run on defaults alone (Orleans' and Polly's Information logs included) without a word.
    /// <c>--contentRoot</c> or <c>DOTNET_CONTENTROOT</c> still choose another directory.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var chosen = args.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"));
        return WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = chosen ? null : AppContext.BaseDirectory,
        });
    }
}
