using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace OrleansMqtt.Silo;

/// <summary>
/// The address a silo advertises to the cluster (<c>Orleans:AdvertisedIPAddress</c>): an IP address, or <c>auto</c>
/// for the container's own non-loopback IPv4 address. In Azure Container Apps a replica's private IP is known only
/// once it runs, so infra/ sets <c>auto</c>.
/// </summary>
public static class AdvertisedAddress
{
    public const string Setting = "Orleans:AdvertisedIPAddress";
    public const string Auto = "auto";

    /// <summary>The address to advertise, or null when the setting is empty (Orleans picks one itself).</summary>
    public static IPAddress? Resolve(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return null;
        }

        if (string.Equals(setting.Trim(), Auto, StringComparison.OrdinalIgnoreCase))
        {
            return Pick(LocalAddresses()) ?? throw new InvalidOperationException($"{Setting} is '{Auto}' but this machine has no non-loopback IPv4 address.");
        }

        return IPAddress.TryParse(setting, out var address)
            ? address
            : throw new InvalidOperationException($"{Setting} '{setting}' is neither an IP address nor '{Auto}'.");
    }

    /// <summary>The first usable IPv4 address: not loopback, not link-local (169.254/16, which no other replica can reach).</summary>
    public static IPAddress? Pick(IEnumerable<IPAddress> candidates) =>
        candidates.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && !IsLinkLocal(a));

    private static IEnumerable<IPAddress> LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address);

    private static bool IsLinkLocal(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return bytes[0] == 169 && bytes[1] == 254;
    }
}
