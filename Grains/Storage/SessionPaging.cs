using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orleans.Serialization;

namespace OrleansMqtt.Grains;

/// <summary>
/// How a persistent session is kept in pages, whatever the storage: a <see cref="SessionRecord"/> (the session without
/// its messages, naming them by sequence number) and <see cref="SessionPage"/>s of messages. A commit writes the record
/// and the pages that got new messages, and drops the pages none of whose messages the session still holds; so a write
/// costs what changed, not every message the session holds. The storage (Azure Table, memory) writes a
/// <see cref="SessionWritePlan"/> as one atomic change and tells <see cref="SessionWritePlan.Stored"/> once it is.
/// </summary>
public static class SessionPaging
{
    /// <summary>A page takes new messages while it is below this many bytes (counted as <see cref="StoredSize"/>)...</summary>
    public const int PageBytes = 32 * 1024;

    /// <summary>...and below this many messages.</summary>
    public const int PageMessages = 128;

    /// <summary>
    /// What to write for the session as it is now (synchronous: the state may change once the write awaits). Costs a
    /// lookup per message the session holds, and allocates for new messages and the set of pages the record names (a
    /// page holds up to <see cref="PageMessages"/>); only if some message went since the last commit, a second lookup
    /// and a copy of what is held: a deep queue that only grows is not copied on each commit.
    /// </summary>
    /// <param name="replaceOpenPage">
    /// Whether the storage writes a commit in one atomic change, so the open page may be replaced where it is (Azure
    /// Table, memory). Where each page is a write of its own (Azure Blob), the open page taking more messages is
    /// written under a new number, and the old one goes once the record no longer names it: a commit cut short then
    /// leaves the stored record's pages as they were.
    /// </param>
    public static SessionWritePlan Plan(SessionState state, StoredPages written, Serializer serializer, bool replaceOpenPage = true)
    {
        var commit = ++written.Commits;
        var held = 0;
        Dictionary<QueuedMessage, long>? freshIndex = null;
        var fresh = new List<(long Sequence, QueuedMessage Message)>();
        long SequenceOf(QueuedMessage message)
        {
            ref var stored = ref CollectionsMarshal.GetValueRefOrNullRef(written.Sequences, message);
            if (!Unsafe.IsNullRef(ref stored))
            {
                if (stored.Seen != commit)
                {
                    stored.Seen = commit;
                    held++;
                }

                return stored.Sequence;
            }

            // New, though it may occur twice (in flight and queued, say): one sequence number.
            freshIndex ??= new Dictionary<QueuedMessage, long>(ReferenceEqualityComparer.Instance);
            if (!freshIndex.TryGetValue(message, out var sequence))
            {
                sequence = written.NextSequence++;
                freshIndex[message] = sequence;
                fresh.Add((sequence, message));
            }

            return sequence;
        }

        var inFlight = new long[state.InFlightCount];
        var packetIds = new ushort[inFlight.Length];
        var released = new bool[inFlight.Length];
        for (var i = 0; i < inFlight.Length; i++)
        {
            var message = state.InFlight[i];
            inFlight[i] = SequenceOf(message.Message);
            packetIds[i] = message.PacketId;
            released[i] = message.Released;
        }

        var queue = new long[state.QueueCount];
        for (var i = 0; i < queue.Length; i++)
        {
            queue[i] = SequenceOf(state.Queue[i]);
        }

        // The pages that get new messages: the open page if the first has room in it, then new ones.
        var pages = new List<PagePlan>();
        PagePlan? current = null;
        long? superseded = null;
        if (fresh.Count > 0 && written.Open is { } open && open.Bytes + StoredSize.Of(fresh[0].Message) <= PageBytes)
        {
            current = replaceOpenPage ? new PagePlan(open.Number, stored: true) : new PagePlan(written.NextPage++, stored: false);
            superseded = replaceOpenPage ? null : open.Number;
            foreach (var (sequence, message) in open.Entries)
            {
                if (written.Sequences.TryGetValue(message, out var stored) && stored.Seen == commit)
                {
                    current.Add(sequence, message);
                }
            }
        }

        foreach (var (sequence, message) in fresh)
        {
            var size = StoredSize.Of(message);
            if (current is null || (current.Entries.Count > 0 && (current.Bytes + size > PageBytes || current.Entries.Count >= PageMessages)))
            {
                if (current is not null)
                {
                    pages.Add(current);
                }

                current = new PagePlan(written.NextPage++, stored: false);
            }

            current.Add(sequence, message, size);
        }

        if (current is not null)
        {
            pages.Add(current);
        }

        foreach (var page in pages)
        {
            page.Data = PooledGrainStorageSerializer.SerializeToArray(serializer, new SessionPage { Sequences = [.. page.Entries.Select(e => e.Sequence)], Messages = [.. page.Entries.Select(e => e.Message)] });
        }

        // The pages the record names: those that hold a message it names. The others go: pages none of whose messages
        // the session still holds (looked for only if some message went since the last commit), an open page written
        // anew under another number, and pages a crash or a failed write left behind.
        var gone = held != written.Sequences.Count;
        HashSet<long> keep;
        if (gone)
        {
            keep = new HashSet<long>(pages.Select(p => p.Number));
            foreach (var (_, stored) in written.Sequences)
            {
                if (stored.Seen == commit && written.PageOf.TryGetValue(stored.Sequence, out var number) && number != superseded)
                {
                    keep.Add(number);
                }
            }
        }
        else
        {
            // Every stored message is still held: the pages the stored record names, less an open page written anew.
            keep = new HashSet<long>(written.Named);
            if (superseded is { } moved)
            {
                keep.Remove(moved);
            }

            keep.UnionWith(pages.Select(p => p.Number));
        }

        var unused = new List<long>();
        if (gone || written.Orphans.Count > 0 || superseded is not null)
        {
            var candidates = new HashSet<long>(written.Orphans);
            if (gone)
            {
                candidates.UnionWith(written.PageOf.Values);
            }

            if (superseded is { } old)
            {
                candidates.Add(old);
            }

            candidates.ExceptWith(keep);
            unused.AddRange(candidates);
        }

        // The record: the session without its messages, which it names instead.
        var (keptInFlight, keptQueue) = (state.InFlight, state.Queue);
        byte[] record;
        try
        {
            (state.InFlight, state.Queue) = ([], []);
            record = PooledGrainStorageSerializer.SerializeToArray(serializer, new SessionRecord
            {
                Session = state,
                InFlight = inFlight,
                PacketIds = packetIds,
                Released = released,
                Queue = queue,
                NextSequence = written.NextSequence,
                NextPage = written.NextPage,
                Pages = [.. keep],
            });
        }
        finally
        {
            (state.InFlight, state.Queue) = (keptInFlight, keptQueue);
        }

        return new SessionWritePlan(record, pages, unused, fresh, gone ? commit : null, written.Unread, keep);
    }

    /// <summary>
    /// The session from its record and its pages, and what is stored of it into <paramref name="written"/>; returns how
    /// many messages the record names that no page holds (none, unless storage was changed by hand).
    /// </summary>
    public static (SessionState State, int Missing) Rebuild(SessionRecord record, IEnumerable<(long Number, byte[] Data)> pages, StoredPages written, Serializer serializer)
    {
        var named = new HashSet<long>(record.InFlight);
        named.UnionWith(record.Queue);
        var messages = new Dictionary<long, QueuedMessage>(named.Count);
        var last = record.NextSequence - 1;
        var lastPage = record.NextPage - 1;
        var recordPages = record.Pages is { } numbers ? new HashSet<long>(numbers) : null;
        foreach (var (number, data) in pages)
        {
            lastPage = Math.Max(lastPage, number);
            if (recordPages is not null && !recordPages.Contains(number))
            {
                // Not the record's: left by a commit cut short, or by a writer whose commit failed.
                written.Orphans.Add(number);
                continue;
            }

            var page = serializer.Deserialize<SessionPage>(data) ?? new SessionPage();
            var used = false;
            for (var i = 0; i < page.Sequences.Length; i++)
            {
                // Sequence numbers are never used twice either, not even those of a page left by a crash.
                last = Math.Max(last, page.Sequences[i]);
                if (named.Contains(page.Sequences[i]))
                {
                    messages[page.Sequences[i]] = page.Messages[i];
                    written.PageOf[page.Sequences[i]] = number;
                    used = true;
                }
            }

            if (used)
            {
                written.Named.Add(number);
            }
            else
            {
                written.Orphans.Add(number);
            }
        }

        var state = record.Session;
        var missing = 0;
        for (var i = 0; i < record.InFlight.Length; i++)
        {
            if (messages.TryGetValue(record.InFlight[i], out var message))
            {
                state.InFlight.Add(new InFlightMessage { PacketId = record.PacketIds[i], Message = message, Released = record.Released[i] });
                written.Sequences[message] = new StoredPages.Message(record.InFlight[i]);
            }
            else
            {
                missing++;
            }
        }

        foreach (var sequence in record.Queue)
        {
            if (messages.TryGetValue(sequence, out var message))
            {
                state.Queue.Add(message);
                written.Sequences[message] = new StoredPages.Message(sequence);
            }
            else
            {
                missing++;
            }
        }

        state.DroppedMessages += missing;
        written.NextSequence = last + 1;
        written.NextPage = Math.Max(written.NextPage, lastPage + 1);
        return (state, missing);
    }
}

/// <summary>
/// What is stored of one activation's session, as far as this silo knows: kept by the storage per
/// <see cref="IGrainState{T}"/>, which the activation keeps.
/// </summary>
public sealed class StoredPages
{
    /// <summary>Not read by this activation, or a write failed: which pages exist must be asked first.</summary>
    public bool Unread { get; set; }

    /// <summary>Messages stored in pages, by object: the session's lists hold the objects read or written.</summary>
    public Dictionary<QueuedMessage, Message> Sequences { get; set; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Plans made: each stamps the stored messages the session still holds.</summary>
    public long Commits { get; set; }

    /// <summary>The page each stored message is in.</summary>
    public Dictionary<long, long> PageOf { get; } = [];

    /// <summary>Pages no record names, to delete.</summary>
    public HashSet<long> Orphans { get; } = [];

    /// <summary>The pages the stored record names: those its messages are in.</summary>
    public HashSet<long> Named { get; internal set; } = [];

    /// <summary>Pages stored in several parts, where a storage bounds one entry (Azure Table): how many.</summary>
    public Dictionary<long, int> PartsOf => _partsOf ??= [];

    private Dictionary<long, int>? _partsOf;

    /// <summary>How many parts page <paramref name="number"/> is stored in.</summary>
    public int PartsOfPage(long number) => _partsOf?.GetValueOrDefault(number, 1) ?? 1;

    /// <summary>The page is gone.</summary>
    public void Dropped(long number) => _partsOf?.Remove(number);

    /// <summary>The last page written, which takes the next new messages while it has room.</summary>
    public OpenPage? Open { get; set; }

    public long NextSequence { get; set; }

    public long NextPage { get; set; }

    /// <summary>Nothing stored is known: the next write writes every message anew (and, where pages can be left behind, asks which exist).</summary>
    public void Forget()
    {
        Sequences.Clear();
        PageOf.Clear();
        Named = [];
        _partsOf = null;
        Open = null;
        Unread = true;
    }

    /// <summary>The last page written, its messages, and their bytes (counted as <see cref="StoredSize"/>).</summary>
    public sealed record OpenPage(long Number, List<(long Sequence, QueuedMessage Message)> Entries, long Bytes);

    /// <summary>A stored message's sequence number, and the last plan that found it in the session.</summary>
    public struct Message(long sequence)
    {
        public long Sequence { get; } = sequence;

        public long Seen { get; set; }
    }
}

/// <summary>A page to write: new, or the open page taking more messages.</summary>
public sealed class PagePlan(long number, bool stored)
{
    public long Number { get; } = number;

    /// <summary>The page is stored already: it is replaced, not added.</summary>
    public bool Stored { get; } = stored;

    public List<(long Sequence, QueuedMessage Message)> Entries { get; } = [];

    public long Bytes { get; private set; }

    public byte[] Data { get; set; } = [];

    public void Add(long sequence, QueuedMessage message, long? size = null)
    {
        Entries.Add((sequence, message));
        Bytes += size ?? StoredSize.Of(message);
    }
}

/// <summary>
/// One commit of a paged session: the record, the pages to put, and the pages no longer needed (<see cref="Unused"/>).
/// <see cref="Fresh"/> are the messages stored for the first time; <see cref="Held"/>, when messages went since the last
/// commit, the plan whose stamp marks those still held. <see cref="ReplacesAll"/>: nothing stored was known, so every
/// message is in this commit's pages, and any other page of the session may go. <see cref="Named"/>: the pages the
/// record names.
/// </summary>
public sealed record SessionWritePlan(byte[] Record, List<PagePlan> Pages, List<long> Unused, List<(long Sequence, QueuedMessage Message)> Fresh, long? Held, bool ReplacesAll, HashSet<long> Named)
{
    /// <summary>The commit is stored: what is stored now.</summary>
    public void Stored(StoredPages written)
    {
        written.Orphans.ExceptWith(Unused);
        written.Named = Named;
        foreach (var page in Pages)
        {
            foreach (var (sequence, _) in page.Entries)
            {
                written.PageOf[sequence] = page.Number;
            }
        }

        if (Held is { } held)
        {
            // Forget the messages the session no longer holds.
            var kept = new Dictionary<QueuedMessage, StoredPages.Message>(written.Sequences.Count, ReferenceEqualityComparer.Instance);
            foreach (var (message, stored) in written.Sequences)
            {
                if (stored.Seen == held)
                {
                    kept[message] = stored;
                }
                else
                {
                    written.PageOf.Remove(stored.Sequence);
                }
            }

            written.Sequences = kept;
        }

        foreach (var (sequence, message) in Fresh)
        {
            written.Sequences[message] = new StoredPages.Message(sequence);
        }

        if (ReplacesAll)
        {
            written.Unread = false;
        }

        if (Pages.Count > 0)
        {
            var last = Pages[^1];
            written.Open = last.Bytes < SessionPaging.PageBytes && last.Entries.Count < SessionPaging.PageMessages ? new StoredPages.OpenPage(last.Number, last.Entries, last.Bytes) : null;
        }
        else if (written.Open is { } open && Unused.Contains(open.Number))
        {
            // Every message it held was acknowledged: it was deleted.
            written.Open = null;
        }
    }
}
