using Orleans.Providers;
using OrleansMqtt.Gateway;

// Orleans reads Orleans:Clustering and Orleans:Reminders itself, as provider sections, and wants a provider named
// in their ProviderType. Here they are plain values (Localhost/AzureTable, Memory/AzureTable) that SiloHosting and
// ClusterClientHosting act on; this no-op provider answers for such sections so Orleans does not refuse them.
[assembly: RegisterProvider("Default", "Clustering", "Silo", typeof(ChosenBySettings))]
[assembly: RegisterProvider("Default", "Clustering", "Client", typeof(ChosenBySettings))]
[assembly: RegisterProvider("Default", "Reminders", "Silo", typeof(ChosenBySettings))]
[assembly: RegisterProvider("Default", "Reminders", "Client", typeof(ChosenBySettings))]

namespace OrleansMqtt.Gateway;

/// <summary>Leaves the provider to the project's own settings (see <see cref="ClusterSettings"/>).</summary>
public sealed class ChosenBySettings : IProviderBuilder<ISiloBuilder>, IProviderBuilder<IClientBuilder>
{
    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection)
    {
    }

    public void Configure(IClientBuilder builder, string? name, IConfigurationSection configurationSection)
    {
    }
}
