using System.Buffers;
using System.Diagnostics;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Fuzz;

/// <summary>
/// A fuzz campaign against the codec. Each input is framed with <see cref="MqttFrameReader"/> and every frame decoded
/// as the server decodes client packets and as a client decodes server packets, in one segment or split across
/// several. The rule: decode, or throw <see cref="MqttProtocolException"/>; never another exception, never more
/// than <see cref="HangLimit"/> on one input, never more than <see cref="AllocationLimit"/> allocated for it.
/// Inputs whose outcome (packet type and error) was not seen before join the corpus and are mutated further, so the
/// campaign works its way into rarer paths of the decoders (guided by outcomes, not by coverage instrumentation).
/// </summary>
public sealed class FuzzCampaign(int seed)
{
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(1);
    private const int MaxCorpus = 20_000;

    private readonly Random _random = new(seed);
    private readonly List<(byte[] Bytes, MqttProtocolVersion Version)> _corpus = [];
    private readonly HashSet<string> _outcomes = new(StringComparer.Ordinal);

    public long Inputs { get; private set; }
    public long Frames { get; private set; }
    public long Decoded { get; private set; }
    public long Refused { get; private set; }
    public int Outcomes => _outcomes.Count;
    public int CorpusSize => _corpus.Count;

    /// <summary>Inputs that went over the time limit once and not when checked again: the machine stalled, not the codec.</summary>
    public long Stalls { get; private set; }
    public List<FuzzFailure> Failures { get; } = [];

    /// <summary>The input being checked, for a watchdog to report when the campaign stops making progress.</summary>
    public (byte[] Input, MqttProtocolVersion Version)? Current { get; private set; }

    /// <summary>Bytes one input may allocate: a little per byte of input and a fixed allowance.</summary>
    public static long AllocationLimit(int inputLength) => (64L * inputLength) + (256 * 1024);

    public void Run(long inputs, Action<FuzzCampaign>? progress = null)
    {
        for (long i = 0; i < inputs; i++)
        {
            var (input, version) = NextInput();
            Current = (input, version);
            Inputs++;
            var failure = Check(input, version, _random.Next(2) == 0 ? null : SplitPoints(input.Length));
            if (failure is not null)
            {
                Failures.Add(failure);
            }

            if (progress is not null && Inputs % 100_000 == 0)
            {
                progress(this);
            }
        }
    }

    private (byte[] Input, MqttProtocolVersion Version) NextInput()
    {
        var version = PacketGenerator.Versions[_random.Next(PacketGenerator.Versions.Length)];
        if (_random.Next(50) == 0)
        {
            var noise = new byte[_random.Next(1, 64)];
            _random.NextBytes(noise);
            return (noise, version);
        }

        if (_corpus.Count > 0 && _random.Next(3) != 0)
        {
            var (bytes, corpusVersion) = _corpus[_random.Next(_corpus.Count)];
            var other = _random.Next(4) == 0 ? _corpus[_random.Next(_corpus.Count)].Bytes : null;

            // Mostly the packet's own version; sometimes another, as a confused peer would send.
            return (Mutator.Mutate(bytes, _random, other), _random.Next(5) == 0 ? version : corpusVersion);
        }

        var seedPacket = Generate(version);
        return (_random.Next(4) == 0 ? seedPacket : Mutator.Mutate(seedPacket, _random, null), version);
    }

    private byte[] Generate(MqttProtocolVersion version) => PacketGenerator.NextOrPing(_random, version);

    private int[] SplitPoints(int length) =>
        [.. Enumerable.Range(0, _random.Next(1, 4)).Select(_ => _random.Next(length + 1)).Order()];

    /// <summary>
    /// Runs one input; null when the codec kept the rule, else what went wrong. An input over the time limit is run
    /// again: on a shared machine a pause of the process (scheduling, a collection) is not a hang of the codec.
    /// </summary>
    public FuzzFailure? Check(byte[] input, MqttProtocolVersion version, int[]? splitAt)
    {
        var failure = CheckOnce(input, version, splitAt);
        if (failure is { TimedOut: true })
        {
            failure = CheckOnce(input, version, splitAt);
            if (failure is null)
            {
                Stalls++;
            }
        }

        return failure;
    }

    private FuzzFailure? CheckOnce(byte[] input, MqttProtocolVersion version, int[]? splitAt)
    {
        var sequence = splitAt is null ? new ReadOnlySequence<byte>(input) : Segments.Split(input, splitAt);
        var maximumPacketSize = input.Length > 8 && input[^1] % 4 == 0 ? 2 + (input[^2] % 200) : int.MaxValue;
        var started = Stopwatch.GetTimestamp();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        string outcome;
        PacketType type = 0;
        try
        {
            while (MqttFrameReader.TryRead(sequence, maximumPacketSize, out var frame, out var consumed))
            {
                type = frame.Type;
                Frames++;
                DecodeAsServer(frame, version);
                Decoded++;
                var before = sequence.Length;
                sequence = sequence.Slice(consumed);
                if (sequence.Length > before - 2)
                {
                    return new FuzzFailure(input, version, splitAt, "a packet consumed less than its two-byte fixed header");
                }

                try
                {
                    DecodeAsClient(frame, version);
                }
                catch (MqttProtocolException)
                {
                }

                if (Stopwatch.GetElapsedTime(started) > HangLimit)
                {
                    return new FuzzFailure(input, version, splitAt, $"took more than {HangLimit.TotalSeconds} s") { TimedOut = true };
                }
            }

            outcome = $"{type}:ok";
        }
        catch (MqttProtocolException ex)
        {
            Refused++;
            // The message without its figures: "a string of 7 bytes" and "of 9 bytes" are the same path.
            // The start of the message without its figures: "a string of 7 bytes" and "of 9 bytes" are the same path,
            // and what follows the start often quotes the input.
            var message = string.Concat(ex.Message.Where(c => !char.IsAsciiDigit(c)));
            outcome = $"{type}:{ex.ReasonCode}:{message[..Math.Min(message.Length, 40)]}";
        }
        catch (Exception ex)
        {
            return new FuzzFailure(input, version, splitAt, ex.ToString());
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (allocated > AllocationLimit(input.Length))
        {
            return new FuzzFailure(input, version, splitAt, $"allocated {allocated} bytes for {input.Length} bytes of input");
        }

        if (Stopwatch.GetElapsedTime(started) > HangLimit)
        {
            return new FuzzFailure(input, version, splitAt, $"took more than {HangLimit.TotalSeconds} s") { TimedOut = true };
        }

        if (_outcomes.Add(outcome))
        {
            // A full corpus keeps taking new outcomes in place of old ones, so the campaign keeps moving on.
            if (_corpus.Count < MaxCorpus)
            {
                _corpus.Add((input, version));
            }
            else
            {
                _corpus[(int)(Inputs % MaxCorpus)] = (input, version);
            }
        }

        return null;
    }

    /// <summary>The packets a client may send, decoded as the gateway does; a server's packets are a protocol error there.</summary>
    private static void DecodeAsServer(in MqttFrame frame, MqttProtocolVersion version)
    {
        switch (frame.Type)
        {
            case PacketType.Connect: MqttDecoder.DecodeConnect(frame); break;
            case PacketType.Publish: MqttDecoder.DecodePublish(frame, version); break;
            case PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp: MqttDecoder.DecodeAck(frame, version); break;
            case PacketType.Subscribe: MqttDecoder.DecodeSubscribe(frame, version); break;
            case PacketType.Unsubscribe: MqttDecoder.DecodeUnsubscribe(frame, version); break;
            case PacketType.PingReq or PacketType.PingResp: MqttDecoder.ValidatePing(frame); break;
            case PacketType.Disconnect: MqttDecoder.DecodeDisconnect(frame, version); break;
            case PacketType.Auth: MqttDecoder.DecodeAuth(frame, version); break;
            default: DecodeAsClient(frame, version); break;
        }
    }

    /// <summary>The packets a server sends, decoded as a client (the load generator, the tests) does.</summary>
    private static void DecodeAsClient(in MqttFrame frame, MqttProtocolVersion version)
    {
        switch (frame.Type)
        {
            case PacketType.ConnAck: MqttDecoder.DecodeConnAck(frame, version); break;
            case PacketType.Publish: MqttDecoder.DecodePublish(frame, version, fromServer: true); break;
            case PacketType.SubAck: MqttDecoder.DecodeSubAck(frame, version); break;
            case PacketType.UnsubAck: MqttDecoder.DecodeUnsubAck(frame, version); break;
            default: break;
        }
    }
}

/// <summary>An input that broke the rule, with how it was fed.</summary>
public sealed record FuzzFailure(byte[] Input, MqttProtocolVersion Version, int[]? SplitAt, string Problem)
{
    public bool TimedOut { get; init; }

    public override string ToString() =>
        $"{Version} {Convert.ToHexString(Input)}{(SplitAt is null ? "" : " split at " + string.Join(',', SplitAt))}: {Problem}";
}

/// <summary>A byte array as a sequence of several segments, as a socket delivers it.</summary>
public static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] bytes, int[] at)
    {
        var cuts = at.Where(c => c > 0 && c < bytes.Length).Distinct().Order().ToList();
        if (cuts.Count == 0)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        cuts.Add(bytes.Length);
        var first = new Segment(bytes.AsMemory(0, cuts[0]), 0);
        var last = first;
        for (var i = 1; i < cuts.Count; i++)
        {
            last = last.Append(bytes.AsMemory(cuts[i - 1], cuts[i] - cuts[i - 1]));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
