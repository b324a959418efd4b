using Azure.Core;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace OrleansMqtt.Grains;

/// <summary>
/// The queue clients of the bridges, from <see cref="BridgeOptions"/>: a connection string, or the service URI with
/// the credential the silo uses (managed identity in the cloud). The SDK does not retry on its own: the bridges retry
/// with their own backoff, and a queue service that does not answer fails a call within ten seconds, not a hundred.
/// </summary>
public sealed class BridgeQueues
{
    private readonly Lazy<QueueServiceClient> _service;

    public BridgeQueues(IOptions<BridgeOptions> options, Func<TokenCredential> credential)
    {
        var settings = options.Value;
        var clientOptions = new QueueClientOptions();
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        _service = new Lazy<QueueServiceClient>(() => !string.IsNullOrWhiteSpace(settings.ConnectionString)
            ? new QueueServiceClient(settings.ConnectionString, clientOptions)
            : new QueueServiceClient(new Uri(settings.ServiceUri!), credential(), clientOptions));
    }

    public QueueClient Get(string queue) => _service.Value.GetQueueClient(queue);
}
