using OrleansMqtt.Fuzz;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>
/// The fuzz campaign of Fuzz/ (compiled in from Fuzz/Engine), bounded for every test run: structured packets of
/// every type for 3.1, 3.1.1 and 5.0, mutated, framed and decoded server- and client-side, in one segment or split.
/// Each input decodes or throws <see cref="MqttProtocolException"/>; none hangs or allocates without bound.
/// Longer campaigns: <c>dotnet run -c Release --project Fuzz -- --inputs 10000000</c>.
/// </summary>
public sealed class CodecFuzzTests
{
    private const int Inputs = 200_000;

    [Fact]
    public async Task Two_hundred_thousand_mutated_packets_only_ever_decode_or_throw_protocol_exceptions()
    {
        var campaign = new FuzzCampaign(seed: 6);
        var run = Task.Factory.StartNew(() => campaign.Run(Inputs), TaskCreationOptions.LongRunning);
        try
        {
            await run.WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The campaign stopped making progress after {campaign.Inputs} inputs, on {campaign.Current?.Version} {Convert.ToHexString(campaign.Current?.Input ?? [])}");
        }

        Assert.True(campaign.Failures.Count == 0, $"{campaign.Failures.Count} inputs broke the rule:\n" + string.Join('\n', campaign.Failures.Take(5)));
        Assert.Equal(Inputs, campaign.Inputs);

        // Sanity: the inputs reached the decoders and both outcomes happened.
        Assert.True(campaign.Decoded > Inputs / 20, $"only {campaign.Decoded} packets decoded");
        Assert.True(campaign.Refused > Inputs / 5, $"only {campaign.Refused} inputs refused");
    }

    [Fact]
    public void A_failure_is_reported_with_what_reproduces_it()
    {
        var campaign = new FuzzCampaign(seed: 1);

        // A whole valid PINGREQ passes; the report of a failing input names version, bytes and split points.
        Assert.Null(campaign.Check([0xC0, 0x00], MqttProtocolVersion.V500, null));
        var failure = new FuzzFailure([0x10, 0x00], MqttProtocolVersion.V311, [1], "example");
        Assert.Equal("V311 1000 split at 1: example", failure.ToString());
    }
}
