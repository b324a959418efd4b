namespace OrleansMqtt.Fuzz;

/// <summary>
/// Byte-level and MQTT-aware mutations: bit flips, interesting values, insertions, deletions, truncation, length
/// fields pushed to their edges, Variable Byte Integers made long or unterminated, property identifiers planted,
/// pieces of other inputs spliced in, packets concatenated.
/// </summary>
public static class Mutator
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x03, 0x0F, 0x10, 0x1F, 0x26, 0x7F, 0x80, 0xC0, 0xFE, 0xFF];

    public static byte[] Mutate(byte[] original, Random random, byte[]? other)
    {
        var bytes = new List<byte>(original);
        var mutations = 1 + (random.Next(8) == 0 ? random.Next(8) : random.Next(3));
        for (var m = 0; m < mutations; m++)
        {
            if (bytes.Count == 0)
            {
                bytes.Add((byte)random.Next(256));
                continue;
            }

            var at = random.Next(bytes.Count);
            switch (random.Next(12))
            {
                case 0: bytes[at] = (byte)random.Next(256); break;
                case 1: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;
                case 3: bytes.Insert(at, (byte)random.Next(256)); break;
                case 4: bytes.RemoveAt(at); break;
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                case 6:
                    // A two-byte length (string, binary, packet id) at its edges.
                    if (at + 1 < bytes.Count)
                    {
                        var value = random.Next(4) switch { 0 => 0, 1 => 0xFFFF, 2 => 0x7FFF, _ => random.Next(64) };
                        bytes[at] = (byte)(value >> 8);
                        bytes[at + 1] = (byte)value;
                    }

                    break;
                case 7:
                    // A Variable Byte Integer that runs on: continuation bits set.
                    bytes.InsertRange(at, Enumerable.Repeat((byte)0xFF, random.Next(1, 6)));
                    break;
                case 8:
                    // A v5 property identifier, valid or not, with a value that may fit.
                    bytes.Insert(at, (byte)random.Next(0x2B));
                    break;
                case 9:
                    // Repeat a slice (duplicated properties, filters, user properties).
                    var length = Math.Min(bytes.Count - at, random.Next(1, 16));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 10 when other is { Length: > 0 }:
                    // Splice in a piece of another input.
                    var from = random.Next(other.Length);
                    var count = Math.Min(other.Length - from, random.Next(1, 32));
                    bytes.InsertRange(at, new ArraySegment<byte>(other, from, count));
                    break;
                default:
                    // Another packet after this one (or a whole other input): the reader must find the boundary.
                    if (other is not null)
                    {
                        bytes.AddRange(other);
                    }

                    break;
            }
        }

        // Keep the Remaining Length consistent half the time, so the body decoders see most mutations.
        return random.Next(2) == 0 ? FixRemainingLength(bytes) : [.. bytes];
    }

    private static byte[] FixRemainingLength(List<byte> bytes)
    {
        if (bytes.Count < 2)
        {
            return [.. bytes];
        }

        var header = 1;
        while (header < bytes.Count && header < 5 && (bytes[header] & 0x80) != 0)
        {
            header++;
        }

        header++;
        if (header > bytes.Count)
        {
            return [.. bytes];
        }

        var body = bytes.GetRange(header, bytes.Count - header);
        var result = new List<byte>(body.Count + 5) { bytes[0] };
        var length = body.Count;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            result.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);

        result.AddRange(body);
        return [.. result];
    }
}
