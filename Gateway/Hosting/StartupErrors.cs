using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Runs a broker program until it stops. A bad setting or a listener that cannot bind stops it at start with one line
/// that says what is wrong (exit code 1), not a stack trace.
/// </summary>
public static class StartupErrors
{
    public static int Run(WebApplicationBuilder builder)
    {
        WebApplication app;
        try
        {
            app = builder.Build();

            // Settings are checked before the host starts, which would log the same failure again with a stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            app.Start();
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"Cannot start: {string.Join(" ", ex.Failures)}");
            return 1;
        }
        catch (IOException ex)
        {
            // A listener's port taken or not permitted (Kestrel's or the MQTT over TCP one).
            Console.Error.WriteLine($"Cannot start: {ex.Message}");
            return 1;
        }

        // Failures after the start are not a bad setting: they surface as they are.
        app.WaitForShutdown();
        return 0;
    }
}
