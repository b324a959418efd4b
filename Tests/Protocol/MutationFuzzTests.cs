using System.Buffers;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>
/// Whatever bytes arrive, the codec either decodes them or throws <see cref="MqttProtocolException"/>: never an
/// IndexOutOfRangeException, an overflow or a hang. Inputs are seeded random mutations of valid packets, so they get
/// past the first checks and reach deep into the decoders.
/// </summary>
public class MutationFuzzTests
{
    private const int Inputs = 20_000;
    private static readonly MqttProtocolVersion[] Versions = [MqttProtocolVersion.V310, MqttProtocolVersion.V311, MqttProtocolVersion.V500];

    [Fact]
    public void Mutated_packets_only_ever_throw_protocol_exceptions()
    {
        var random = new Random(20_240_607);
        List<(byte[] Bytes, MqttProtocolVersion Version)> corpus = SamplePackets.All
            .Select(s => (Codec.Encode(s.Packet, s.Version), s.Version))
            .Where(s => s.Item1.Length <= 4096)
            .ToList();

        int decoded = 0;
        int refused = 0;
        for (int i = 0; i < Inputs; i++)
        {
            var (original, version) = corpus[random.Next(corpus.Count)];
            byte[] input = i % 20 == 0 ? RandomBytes(random) : Mutate(original, random);

            // Mostly the packet's own version; sometimes another, as a confused peer would send.
            if (random.Next(5) == 0)
            {
                version = Versions[random.Next(Versions.Length)];
            }

            try
            {
                decoded += DecodeStream(input, version, random);
            }
            catch (MqttProtocolException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"Input #{i} ({version}) {Convert.ToHexString(input)} threw {e}");
            }
        }

        // Sanity: the mutations produced both kinds of input.
        Assert.True(decoded > Inputs / 50, $"only {decoded} packets decoded");
        Assert.True(refused > Inputs / 10, $"only {refused} inputs refused");
    }

    /// <summary>Frames and decodes every packet, as a connection loop would; returns the number decoded.</summary>
    private static int DecodeStream(byte[] input, MqttProtocolVersion version, Random random)
    {
        ReadOnlySequence<byte> sequence = random.Next(2) == 0
            ? new ReadOnlySequence<byte>(input)
            : TestSequenceSegment.SplitAt(input, [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(input.Length + 1)).Order()]);
        int maximumPacketSize = random.Next(4) == 0 ? random.Next(2, 200) : int.MaxValue;
        bool fromServer = random.Next(2) == 0;

        int count = 0;
        while (MqttFrameReader.TryRead(sequence, maximumPacketSize, out MqttFrame frame, out SequencePosition consumed))
        {
            _ = Codec.Decode(frame, version, fromServer);
            count++;
            long before = sequence.Length;
            sequence = sequence.Slice(consumed);
            Assert.True(sequence.Length <= before - 2, "every packet consumes at least its two-byte fixed header");
        }

        return count;
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = new List<byte>(original);
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations && bytes.Count > 0; m++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0: bytes[at] = (byte)random.Next(256); break;
                case 1: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: bytes[at] = (byte)(random.Next(4) switch { 0 => 0x00, 1 => 0x7F, 2 => 0x80, _ => 0xFF }); break;
                case 3: bytes.Insert(at, (byte)random.Next(256)); break;
                case 4: bytes.RemoveAt(at); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }

        // Keep the Remaining Length consistent half the time, so the body decoders see most mutations.
        if (random.Next(2) == 0 && bytes.Count >= 2)
        {
            int headerLength = 1 + VariableByteIntegerLength(bytes);
            if (headerLength <= bytes.Count)
            {
                byte[] body = bytes.Skip(headerLength).ToArray();
                return Wire.Packet(bytes[0], body);
            }
        }

        return [.. bytes];
    }

    private static int VariableByteIntegerLength(List<byte> bytes)
    {
        int length = 0;
        while (length < 4 && 1 + length < bytes.Count && (bytes[1 + length] & 0x80) != 0)
        {
            length++;
        }

        return length + 1;
    }

    private static byte[] RandomBytes(Random random)
    {
        byte[] bytes = new byte[random.Next(1, 64)];
        random.NextBytes(bytes);
        return bytes;
    }
}
