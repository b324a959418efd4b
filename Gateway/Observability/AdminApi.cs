using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using OrleansMqtt.Grains;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Gateway;

/// <summary>
/// The admin API under <c>/admin</c>, on the HTTP listener, for a bearer token (<c>Mqtt:Admin:Token</c>). Lists are
/// paged by key: pass the last key of a page as <c>after</c> to get the next one.
/// </summary>
public static class AdminApi
{
    public const string DocumentName = "admin";
    public const int MaxPageSize = 1000;

    /// <summary>The authentication scheme of Entra ID access tokens.</summary>
    public const string EntraScheme = "Entra";

    public static IServiceCollection AddAdminApi(this IServiceCollection services, AdminOptions options)
    {
        if (options.Entra.Enabled && Uri.TryCreate(options.Entra.Authority, UriKind.Absolute, out var authority))
        {
            services.AddAuthentication().AddJwtBearer(EntraScheme, o =>
            {
                o.Authority = authority.ToString().TrimEnd('/');
                o.Audience = options.Entra.Audience;
                o.MapInboundClaims = false;

                // Plain HTTP only for an issuer on this machine (development, tests).
                o.RequireHttpsMetadata = !authority.IsLoopback;
                o.TokenValidationParameters.RoleClaimType = "roles";
                o.TokenValidationParameters.NameClaimType = "name";
            });
        }

        services.AddOpenApi(DocumentName, o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("admin", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo { Title = "OrleansMqtt admin API", Version = "1", Description = "Clients, sessions, retained messages, publishing, cluster members and per-client traces. Every call needs 'Authorization: Bearer <Mqtt:Admin:Token>'." };
                return Task.CompletedTask;
            });
        });
        return services;
    }

    public static void MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup("/admin").AddEndpointFilter<AdminTokenFilter>().WithTags("admin");
        admin.MapOpenApi("/openapi/{documentName}.json");
        admin.MapGet("/clients", ListClients).WithSummary("List and search clients and sessions (client id contains 'search'; 'connected' true or false).");
        admin.MapGet("/sessions/{clientId}", GetSession).WithSummary("A session: connected, gateway, subscriptions, in-flight and queued messages.");
        admin.MapPost("/clients/{clientId}/disconnect", DisconnectClient).WithSummary("Close a client's connection (v5: DISCONNECT 0x98, administrative action); its session stays.");
        admin.MapDelete("/sessions/{clientId}", DeleteSession).WithSummary("Delete a session: connection closed, will dropped, subscriptions and queue removed.");
        admin.MapPost("/publish", Publish).WithSummary("Publish a message as the broker.");
        admin.MapGet("/retained", ListRetained).WithSummary("List retained messages (topic starts with 'prefix').");
        admin.MapDelete("/retained/{**topic}", DeleteRetained).WithSummary("Delete the retained message of a topic.");
        admin.MapGet("/cluster", GetCluster).WithSummary("Cluster members: silos with their activations and load, gateways with their connections.");
        admin.MapGet("/stats", GetStats).WithSummary("Cluster-wide figures, their recent history and the busiest topics (the dashboard's data).");
        admin.MapPost("/trace/{clientId}", StartTrace).WithSummary("Log every packet of a client at Information level for 'minutes' (default 10).");
        admin.MapGet("/trace", ListTraces).WithSummary("Traces in force on this gateway.");
    }

    private static async Task<Ok<ClientPage>> ListClients(IGrainFactory grains, string? search, bool? connected, string? after, int? limit)
    {
        var size = Math.Clamp(limit ?? 100, 1, MaxPageSize);
        var pages = await Task.WhenAll(Enumerable.Range(0, SessionDirectory.Partitions)
            .Select(p => grains.Reference<ISessionDirectoryGrain>(p).Search(string.IsNullOrEmpty(search) ? null : search, connected, after, size + 1)));
        var all = pages.SelectMany(p => p).OrderBy(e => e.ClientId, StringComparer.Ordinal).Take(size + 1).ToList();
        var more = all.Count > size;
        var page = all.Take(size).Select(e => new ClientSummary(e.ClientId, e.Connected, e.GatewayId, e.Persistent, e.Subscriptions, e.UpdatedUtc)).ToArray();
        return TypedResults.Ok(new ClientPage(page, more ? page[^1].ClientId : null));
    }

    private static async Task<Results<Ok<SessionDetails>, NotFound>> GetSession(IGrainFactory grains, string clientId)
    {
        var info = await grains.Reference<ISessionGrain>(clientId).GetInfo();
        if (!info.Exists && !info.Connected)
        {
            return TypedResults.NotFound();
        }

        return TypedResults.Ok(new SessionDetails(clientId, info.Connected, info.GatewayId, info.Subscriptions, info.InFlight, info.Queued, info.Dropped, info.SessionExpiryInterval, info.HeldBytes));
    }

    private static async Task<Results<NoContent, NotFound>> DisconnectClient(IGrainFactory grains, string clientId) =>
        await grains.Reference<ISessionGrain>(clientId).CloseConnection() ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteSession(IGrainFactory grains, string clientId) =>
        await grains.Reference<ISessionGrain>(clientId).Delete() ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<PublishResult>, ValidationProblem>> Publish(IGrainFactory grains, PublishRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Topic is null || !Topic.IsValidName(request.Topic))
        {
            errors["topic"] = ["not a valid topic name (no wildcards, not empty)"];
        }

        if (request.Qos is < 0 or > 2)
        {
            errors["qos"] = ["0, 1 or 2"];
        }

        byte[] payload = [];
        try
        {
            payload = request.PayloadBase64 is { } base64 ? Convert.FromBase64String(base64) : Encoding.UTF8.GetBytes(request.Payload ?? "");
        }
        catch (FormatException)
        {
            errors["payloadBase64"] = ["not base64"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var message = new MqttMessage(request.Topic!, payload, (byte)request.Qos, request.Retain, PublisherId: "$admin", PublishedAtTicks: DateTime.UtcNow.Ticks);
        var matched = await grains.Reference<ITopicGrain>(request.Topic!).Publish([message]);
        return TypedResults.Ok(new PublishResult(matched));
    }

    private static async Task<Ok<RetainedPage>> ListRetained(IGrainFactory grains, string? prefix, string? after, int? limit)
    {
        var size = Math.Clamp(limit ?? 100, 1, MaxPageSize);
        var partitions = (await grains.Reference<IRetainedPartitionsGrain>(0).List()).Order(StringComparer.Ordinal).ToList();
        var found = new List<RetainedEntry>();
        foreach (var partition in partitions)
        {
            // A partition holds the topics of one first level; skip those the prefix or the cursor rule out.
            if (prefix is { Length: > 0 } && !prefix.StartsWith(partition, StringComparison.Ordinal) && !partition.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            found.AddRange(await grains.Reference<IRetainedIndexAdmin>(partition).ListRetained(string.IsNullOrEmpty(prefix) ? null : prefix, after, size + 1 - found.Count));
            if (found.Count > size)
            {
                break;
            }
        }

        var page = found.OrderBy(e => e.Topic, StringComparer.Ordinal).Take(size).ToArray();
        return TypedResults.Ok(new RetainedPage(page, found.Count > size ? page[^1].Topic : null));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteRetained(IGrainFactory grains, string topic)
    {
        var grain = grains.Reference<ITopicGrain>(topic);
        if (await grain.GetRetained() is null)
        {
            return TypedResults.NotFound();
        }

        // An empty retained message clears it [MQTT-3.3.1-10], from the topic grain and its index alike.
        await grain.Publish([new MqttMessage(topic, ReadOnlyMemory<byte>.Empty, 0, true, PublisherId: "$admin")]);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ClusterMembers>> GetCluster(IGrainFactory grains)
    {
        var management = grains.Reference<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true);
        var addresses = hosts.Keys.ToArray();
        var runtime = await management.GetRuntimeStatistics(addresses);
        var grainStats = await management.GetSimpleGrainStatistics();
        var silos = addresses.Select((address, i) => new SiloMember(
            address.ToString(),
            hosts[address].ToString(),
            runtime[i].ActivationCount,
            grainStats.Where(g => g.SiloAddress.Equals(address) && g.GrainType.Contains(SessionGrainName, StringComparison.OrdinalIgnoreCase)).Sum(g => g.ActivationCount),
            runtime[i].EnvironmentStatistics.FilteredCpuUsagePercentage,
            runtime[i].EnvironmentStatistics.FilteredMemoryUsageBytes)).ToArray();
        var stats = await grains.Reference<IClusterStatsGrain>(0).GetStats();
        return TypedResults.Ok(new ClusterMembers(silos, stats.Gateways));
    }

    private static async Task<Ok<ClusterStats>> GetStats(IGrainFactory grains) => TypedResults.Ok(await grains.Reference<IClusterStatsGrain>(0).GetStats());

    private static async Task<Ok<TraceInfo>> StartTrace(IGrainFactory grains, GatewayEndpoint endpoint, string clientId, double? minutes)
    {
        var until = DateTime.UtcNow.AddMinutes(Math.Clamp(minutes ?? 10, 0.1, 24 * 60));
        await grains.Reference<IClusterStatsGrain>(0).Trace(clientId, until);

        // At once on this gateway; the others learn of it with their next report.
        endpoint.Traces.Add(clientId, until);
        return TypedResults.Ok(new TraceInfo(clientId, until));
    }

    private static Ok<TraceInfo[]> ListTraces(GatewayEndpoint endpoint) => TypedResults.Ok(endpoint.Traces.Current.Select(t => new TraceInfo(t.Key, t.Value)).ToArray());

    /// <summary>The name Orleans' grain type of sessions contains.</summary>
    private const string SessionGrainName = "session";

    public sealed record ClientSummary(string ClientId, bool Connected, string? GatewayId, bool Persistent, int Subscriptions, DateTime UpdatedUtc);

    public sealed record ClientPage(ClientSummary[] Clients, string? Next);

    public sealed record SessionDetails(string ClientId, bool Connected, string? GatewayId, string[] Subscriptions, int InFlight, int Queued, long Dropped, uint SessionExpiryInterval, long HeldBytes);

    public sealed record PublishRequest(string? Topic, string? Payload, string? PayloadBase64, int Qos = 0, bool Retain = false);

    public sealed record PublishResult(int MatchedSubscriptions);

    public sealed record RetainedPage(RetainedEntry[] Messages, string? Next);

    public sealed record SiloMember(string Address, string Status, int Activations, int Sessions, float? CpuUsagePercent, long? MemoryUsageBytes);

    public sealed record ClusterMembers(SiloMember[] Silos, GatewayStatus[] Gateways);

    public sealed record TraceInfo(string ClientId, DateTime UntilUtc);
}

/// <summary>
/// The bearer token of <c>Mqtt:Admin:Token</c>, compared in constant time, or an Entra ID access token when
/// <c>Mqtt:Admin:Entra</c> is set (403 when it lacks the required app role). The dashboard page alone may carry the
/// static token as <c>?token=</c> (a browser opening a link cannot set a header); its script then sends the header.
/// </summary>
public sealed class AdminTokenFilter(IOptions<AdminOptions> options) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var admin = options.Value;
        if (IsAuthorized(http, admin.Token))
        {
            return await next(context);
        }

        if (admin.Entra.Enabled)
        {
            var result = await http.AuthenticateAsync(AdminApi.EntraScheme);
            if (result.Succeeded)
            {
                if (admin.Entra.Role is { Length: > 0 } role && !result.Principal.IsInRole(role))
                {
                    return Results.Forbid(authenticationSchemes: [AdminApi.EntraScheme]);
                }

                http.User = result.Principal;
                return await next(context);
            }
        }

        return Results.Unauthorized();
    }

    public static bool IsAuthorized(HttpContext http, string? token, bool allowQuery = false)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        string? presented = null;
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = header["Bearer ".Length..].Trim();
        }
        else if (allowQuery)
        {
            presented = http.Request.Query["token"].ToString();
        }

        return presented is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token));
    }
}
