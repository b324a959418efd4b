using Azure;
using Azure.Storage.Blobs;
using OrleansMqtt.Gateway;

namespace OrleansMqtt.Silo;

/// <summary>
/// Blob state lives in a container named by the service id (<see cref="ClusterSettings.StateContainerName"/>). Every
/// deployment used to share <c>mqtt-state</c>, whatever its service id: a deployment with a service id of its own
/// that finds its container missing and <c>mqtt-state</c> there says so once at start, with the setting that keeps
/// the state it had, instead of starting without its sessions and retained messages and saying nothing.
/// </summary>
public sealed class StateContainerCheck(BlobServiceClient blobs, string container, string shared, ILogger<StateContainerCheck> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(StateContainerCheck), ServiceLifecycleStage.RuntimeStorageServices, async cancellation =>
        {
            if (await WarningAsync(cancellation) is { } warning)
            {
                logger.LogWarning("{Warning}", warning);
            }
        });

    /// <summary>What to tell the operator, or null: nothing to say, or the account could not be asked (the storage providers report that).</summary>
    public async Task<string?> WarningAsync(CancellationToken cancellation)
    {
        if (container == shared)
        {
            return null;
        }

        try
        {
            if (await blobs.GetBlobContainerClient(container).ExistsAsync(cancellation) || !await blobs.GetBlobContainerClient(shared).ExistsAsync(cancellation))
            {
                return null;
            }
        }
        catch (Exception ex) when (ex is RequestFailedException or Azure.Identity.AuthenticationFailedException or Azure.Identity.CredentialUnavailableException or HttpRequestException)
        {
            logger.LogDebug(ex, "Could not look for the blob containers {Container} and {Shared}", container, shared);
            return null;
        }

        return $"Blob state of this service goes to the new container '{container}', named by Orleans:ServiceId. The container '{shared}' holds "
            + "blob state written before containers were named by service id, by every deployment on this storage account whatever its service id "
            + $"(subscription index, retained messages, leases, sessions on AzureBlob). If it is this deployment's, set Orleans:StateContainer={shared} "
            + "(environment Orleans__StateContainer) to carry on with it.";
    }
}
