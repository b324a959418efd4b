using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using OrleansMqtt.Grains;

namespace OrleansMqtt.Silo;

/// <summary>
/// Persistent sessions on Azure Blob storage. A session that holds at most <see cref="WholeBytes"/> of messages (an
/// online device's in-flight messages, say) is one blob, written whole on each commit as Orleans' blob
/// storage writes it: one request. A session that holds more (a queue for an offline device) is paged
/// (<see cref="SessionPaging"/>): its blob is a record that names its messages and the pages they are in, each page a
/// blob of its own, so a commit writes the new messages and the small record, not every message again, which made
/// each message queued for an offline device cost every message queued before it.
/// <para>
/// Blobs: the record is <c>{state}-{GrainId}.json</c>, as Orleans' blob storage names it (so a session it stored is
/// read here), with metadata <c>format=paged</c> when paged; pages are <c>{record}~p{number}</c>. Blobs are written
/// one at a time, so a commit never changes a page the stored record names: new pages (the open page taking more
/// messages under a new number too) are created first, then the record replaces the one read (ETag); the pages it
/// no longer names are deleted while the next commit is written, so that no commit waits for deletes. A page no
/// record names (one of those, or one a commit cut short left) is never read as the session's. Only <see cref="SessionState"/> is stored here.
/// </para>
/// </summary>
public sealed partial class SessionBlobStorage(
    string name,
    BlobContainerClient container,
    Serializer serializer,
    ILogger<SessionBlobStorage> logger) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>
    /// A session that holds at most this many bytes of messages (counted as <see cref="StoredSize"/>) is written whole:
    /// on Azurite, an online persistent session holding some 50 KB went at half the rate paged (a page, the record and
    /// the deletes are three requests where a whole write is one); a deep queue is paged.
    /// </summary>
    public const long WholeBytes = 256 * 1024;

    private const string FormatKey = "format";
    private const string PagedFormat = "paged";
    private const string PageMarker = "~p";
    private const int Concurrency = 16;

    // What is stored of each activation's paged session, as far as this silo knows: per IGrainState, which the
    // activation keeps. Nothing for a session stored whole.
    private readonly ConditionalWeakTable<object, StoredPages> _written = [];

    public static void Add(IServiceCollection services, string name, Func<IServiceProvider, BlobContainerClient> container) =>
        services.AddGrainStorage(name, (sp, key) => new SessionBlobStorage(
            key,
            container(sp),
            sp.GetRequiredService<Serializer>(),
            sp.GetRequiredService<ILogger<SessionBlobStorage>>()));

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe($"{nameof(SessionBlobStorage)}-{name}", ServiceLifecycleStage.ApplicationServices, async cancellation =>
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellation);
        });

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var record = RecordName(stateName, grainId);
        var listed = ListPagesAsync(record);
        BlobDownloadResult? stored;
        try
        {
            stored = (await container.GetBlobClient(record).DownloadContentAsync()).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            stored = null;
        }

        var pages = await listed;
        var written = new StoredPages { NextPage = pages.Count == 0 ? 0 : pages.Max() + 1 };
        SessionState state;
        if (stored is null || stored.Content.ToMemory().IsEmpty)
        {
            state = new SessionState();
            written.Orphans.UnionWith(pages);
        }
        else if (stored.Details.Metadata.TryGetValue(FormatKey, out var format) && format == PagedFormat)
        {
            var sessionRecord = serializer.Deserialize<SessionRecord>(stored.Content.ToMemory()) ?? throw new InvalidDataException($"The session {grainId} has an empty record in container {container.Name}.");
            var named = sessionRecord.Pages is { } numbers ? pages.Intersect(numbers).ToList() : pages;
            written.Orphans.UnionWith(pages.Except(named));
            var data = await DownloadPagesAsync(record, named);
            var (session, missing) = SessionPaging.Rebuild(sessionRecord, data, written, serializer);
            if (missing > 0)
            {
                // Cannot happen while pages and record are written as here; said loudly if storage was changed by hand.
                LogMissing(logger, grainId, missing, container.Name);
            }

            state = session;
        }
        else
        {
            // Whole: a session that held few messages, or one Orleans' blob storage wrote.
            state = serializer.Deserialize<SessionState>(stored.Content.ToMemory()) ?? new SessionState();
            written.Orphans.UnionWith(pages);
        }

        if (written.Sequences.Count > 0 || written.Orphans.Count > 0)
        {
            _written.AddOrUpdate(grainState, written);
        }
        else
        {
            _written.Remove(grainState);
        }

        grainState.State = (T)(object)state;
        grainState.RecordExists = stored is not null;
        grainState.ETag = stored?.Details.ETag.ToString();
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var state = grainState.State as SessionState
            ?? throw new NotSupportedException($"{nameof(SessionBlobStorage)} stores sessions ({nameof(SessionState)}), not {typeof(T).Name}.");
        var record = RecordName(stateName, grainId);
        var etag = grainState.ETag;
        var conditions = etag is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = new ETag(etag) };
        _written.TryGetValue(grainState, out var written);
        try
        {
            if (HeldBytesAtMost(state, WholeBytes))
            {
                // Few messages: one blob, one request. Pages of a paged time before go after it.
                var whole = PooledGrainStorageSerializer.SerializeToArray(serializer, state);
                var info = await container.GetBlobClient(record).UploadAsync(new BinaryData(whole), new BlobUploadOptions { Conditions = conditions });
                (grainState.ETag, grainState.RecordExists) = (info.Value.ETag.ToString(), true);
                if (written is not null)
                {
                    var left = await DeleteAsync(record, [.. written.Named, .. written.Orphans]);
                    written.Forget();
                    written.Orphans.UnionWith(left);
                    written.Unread = false;
                    if (left.Count == 0)
                    {
                        _written.Remove(grainState);
                    }
                }

                return;
            }

            if (written is null)
            {
                // Stored whole, or not at all: the next write learns which pages exist, and writes every message.
                written = new StoredPages { Unread = true };
                _written.AddOrUpdate(grainState, written);
            }

            if (written.Unread)
            {
                var existing = await ListPagesAsync(record);
                written.Orphans.UnionWith(existing.Except(written.Named));
                written.NextPage = Math.Max(written.NextPage, existing.Count == 0 ? 0 : existing.Max() + 1);
                written.Open = null;
                written.Unread = false;
            }

            // Everything is taken from the state before the first await below: the record is the state as it was when
            // the write started, never a mix with changes made while it runs.
            var plan = SessionPaging.Plan(state, written, serializer, replaceOpenPage: false);

            // Pages the stored record does not name (those the commit before stopped naming, or left behind) go while
            // this commit is written; those this one stops naming go with the next, so no commit waits for deletes.
            List<long> deleting = [.. written.Orphans];
            var deleted = deleting.Count > 0 ? DeleteAsync(record, deleting) : Task.FromResult(new List<long>());
            try
            {
                // A page is only ever created: a number taken already means another writer, as a stale record would.
                await Parallel.ForEachAsync(plan.Pages, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (page, cancellation) =>
                    await container.GetBlobClient(PageName(record, page.Number)).UploadAsync(new BinaryData(page.Data), new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellation));

                var stored = await container.GetBlobClient(record).UploadAsync(new BinaryData(plan.Record), new BlobUploadOptions
                {
                    Conditions = conditions,
                    Metadata = new Dictionary<string, string> { [FormatKey] = PagedFormat },
                });
                (grainState.ETag, grainState.RecordExists) = (stored.Value.ETag.ToString(), true);
                plan.Stored(written);
                written.Orphans.UnionWith(plan.Unused.Except(deleting));
            }
            finally
            {
                written.Orphans.UnionWith(await deleted);
            }
        }
        catch (RequestFailedException ex) when (IsConflict(ex))
        {
            LogConflict(logger, grainId, etag, ex.Message);
            written?.Forget();
            throw new InconsistentStateException($"The session {grainId} was changed or deleted in container {container.Name} by another writer ({ex.Status}): {ex.Message}", "Unknown", etag ?? "", ex);
        }
        catch (Exception ex)
        {
            // What is stored is unknown now: the next write learns which pages exist and writes every message again.
            written?.Forget();
            LogWriteFailed(logger, ex, grainId, container.Name);
            throw;
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var record = RecordName(stateName, grainId);
        if (grainState.ETag is { } etag)
        {
            try
            {
                await container.GetBlobClient(record).DeleteAsync(conditions: new BlobRequestConditions { IfMatch = new ETag(etag) });
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                throw new InconsistentStateException($"The session {grainId} was changed or deleted in container {container.Name} by another writer ({ex.Status}): {ex.Message}", "Unknown", etag, ex);
            }
        }

        // Without the record nothing reads the pages; any a failed delete leaves go with the session's next write.
        var left = await DeleteAsync(record, await ListPagesAsync(record));
        _written.Remove(grainState);
        if (left.Count > 0)
        {
            var written = new StoredPages { NextPage = left.Max() + 1 };
            written.Orphans.UnionWith(left);
            _written.Add(grainState, written);
        }

        grainState.State = (T)(object)new SessionState();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <summary>
    /// Another writer was first: the record is not the one read (412), or a page number is taken (409, the blob
    /// exists). Storage's other refusals (a 409 for a full account, say) are failures, not conflicts.
    /// </summary>
    private static bool IsConflict(RequestFailedException ex) =>
        ex.Status == 412 || (ex.Status == 409 && ex.ErrorCode == BlobErrorCode.BlobAlreadyExists.ToString());

    /// <summary>As Orleans' blob storage names a grain's blob.</summary>
    private static string RecordName(string stateName, GrainId grainId) => $"{stateName}-{grainId}.json";

    private static string PageName(string record, long number) => record + PageMarker + number.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>Whether the messages the session holds take at most <paramref name="limit"/> bytes (counted as <see cref="StoredSize"/>).</summary>
    private static bool HeldBytesAtMost(SessionState state, long limit)
    {
        var bytes = 0L;
        for (var i = 0; i < state.InFlightCount && bytes <= limit; i++)
        {
            bytes += StoredSize.Of(state.InFlight[i].Message);
        }

        for (var i = 0; i < state.QueueCount && bytes <= limit; i++)
        {
            bytes += StoredSize.Of(state.Queue[i]);
        }

        return bytes <= limit;
    }

    /// <summary>The numbers of the session's page blobs.</summary>
    private async Task<List<long>> ListPagesAsync(string record)
    {
        var prefix = record + PageMarker;
        var numbers = new List<long>();
        try
        {
            await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None))
            {
                // Exactly 12 digits: a record of another client id that starts like this one's pages ends in ".json".
                var rest = blob.Name.AsSpan(prefix.Length);
                if (rest.Length == 12 && long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    numbers.Add(number);
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: no pages.
        }

        return numbers;
    }

    private async Task<List<(long Number, byte[] Data)>> DownloadPagesAsync(string record, List<long> numbers)
    {
        var pages = new (long Number, byte[] Data)[numbers.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, numbers.Count), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, cancellation) =>
        {
            var content = (await container.GetBlobClient(PageName(record, numbers[i])).DownloadContentAsync(cancellation)).Value.Content;
            pages[i] = (numbers[i], content.ToArray());
        });
        return [.. pages];
    }

    /// <summary>Deletes the pages; returns those that could not be deleted (harmless while they stay: no record names them).</summary>
    private async Task<List<long>> DeleteAsync(string record, IReadOnlyCollection<long> numbers)
    {
        var left = new List<long>();
        await Parallel.ForEachAsync(numbers, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (number, cancellation) =>
        {
            try
            {
                await container.GetBlobClient(PageName(record, number)).DeleteIfExistsAsync(cancellationToken: cancellation);
            }
            catch (RequestFailedException ex)
            {
                lock (left)
                {
                    left.Add(number);
                }

                LogDeleteFailed(logger, record, number, ex.Message);
            }
        });
        return left;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The session {GrainId} was not written: its blob changed or went since it was read (ETag {ETag}): {Error}")]
    private static partial void LogConflict(ILogger logger, GrainId grainId, string? etag, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The session {GrainId} could not be written to container {Container}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, GrainId grainId, string container);

    [LoggerMessage(Level = LogLevel.Error, Message = "The session {GrainId} names {Missing} messages that are in none of its pages in container {Container}: they are counted as dropped")]
    private static partial void LogMissing(ILogger logger, GrainId grainId, int missing, string container);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete page {Page} of {Record}; the next write tries again: {Error}")]
    private static partial void LogDeleteFailed(ILogger logger, string record, long page, string error);
}
