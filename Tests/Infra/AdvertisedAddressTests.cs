using System.Net;
using System.Net.Sockets;
using OrleansMqtt.Silo;

namespace OrleansMqtt.Tests.Infra;

/// <summary>Orleans:AdvertisedIPAddress: infra/ sets <c>auto</c>, since a replica's private IP is known only once it runs.</summary>
public sealed class AdvertisedAddressTests
{
    [Fact]
    public void Auto_picks_this_machines_first_non_loopback_IPv4_address()
    {
        var address = AdvertisedAddress.Resolve("auto");
        Assert.NotNull(address);
        Assert.Equal(AddressFamily.InterNetwork, address.AddressFamily);
        Assert.False(IPAddress.IsLoopback(address));
    }

    [Fact]
    public void Auto_skips_loopback_link_local_and_IPv6_addresses()
    {
        var picked = AdvertisedAddress.Pick([IPAddress.Loopback, IPAddress.IPv6Loopback, IPAddress.Parse("fd00::5"), IPAddress.Parse("169.254.0.9"), IPAddress.Parse("10.40.1.7")]);
        Assert.Equal(IPAddress.Parse("10.40.1.7"), picked);
        Assert.Null(AdvertisedAddress.Pick([IPAddress.Loopback, IPAddress.Parse("169.254.3.3")]));
    }

    [Fact]
    public void An_address_is_taken_as_it_is_and_an_empty_setting_leaves_the_choice_to_Orleans()
    {
        Assert.Equal(IPAddress.Parse("10.1.2.3"), AdvertisedAddress.Resolve("10.1.2.3"));
        Assert.Null(AdvertisedAddress.Resolve(""));
        Assert.Null(AdvertisedAddress.Resolve(null));
    }

    [Fact]
    public void Anything_else_is_refused_with_a_message_that_names_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => AdvertisedAddress.Resolve("my-host"));
        Assert.Contains("Orleans:AdvertisedIPAddress 'my-host'", error.Message, StringComparison.Ordinal);
    }
}
