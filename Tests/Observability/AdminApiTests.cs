using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using OrleansMqtt.Gateway;
using OrleansMqtt.Grains;
using OrleansMqtt.Tests.Infrastructure;

namespace OrleansMqtt.Tests.Observability;

/// <summary>An embedded broker with its HTTP listener and the admin API on, shared by <see cref="AdminApiTests"/>.</summary>
public sealed class AdminBrokerFixture : IAsyncLifetime
{
    public EmbeddedBroker Broker { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var http = FreePorts.Get(1)[0];
        Broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?>
        {
            ["Mqtt:Http:Enabled"] = "true",
            ["Mqtt:Http:Port"] = http.ToString(),
            ["Mqtt:Admin:Token"] = ObservedBroker.Token,
            ["Mqtt:Sys:Interval"] = "00:00:00.500",
            ["Mqtt:Telemetry:ReportInterval"] = "00:00:00.200",
        });
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = ObservedBroker.Patience };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ObservedBroker.Token);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Broker.DisposeAsync();
    }
}

/// <summary>Every call of the admin API over HTTP, as an operator's script would make it.</summary>
public sealed class AdminApiTests(AdminBrokerFixture fixture) : IClassFixture<AdminBrokerFixture>
{
    private static readonly JsonSerializerOptions Json = ObservedBroker.Json;
    private readonly HttpClient _http = fixture.Http;
    private readonly int _port = fixture.Broker.Port;

    private static readonly string[] Routes =
    [
        "GET /admin/clients", "GET /admin/sessions/x", "POST /admin/clients/x/disconnect", "DELETE /admin/sessions/x",
        "POST /admin/publish", "GET /admin/retained", "DELETE /admin/retained/a/b", "GET /admin/cluster", "GET /admin/stats",
        "POST /admin/trace/x", "GET /admin/trace", "GET /admin/openapi/admin.json", "GET /dashboard",
    ];

    [Fact]
    public async Task Every_call_without_the_token_or_with_a_wrong_one_is_refused_with_401()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };
        foreach (var route in Routes)
        {
            var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
            using var none = new HttpRequestMessage(new HttpMethod(method), path);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(none)).StatusCode);
            using var wrong = new HttpRequestMessage(new HttpMethod(method), path);
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ObservedBroker.Token + "x");
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(wrong)).StatusCode);
        }
    }

    [Fact]
    public async Task Without_Mqtt_Admin_Token_there_is_no_admin_API_but_metrics_are_served()
    {
        var http = FreePorts.Get(1)[0];
        await using var broker = await EmbeddedBroker.StartAsync(new Dictionary<string, string?> { ["Mqtt:Http:Enabled"] = "true", ["Mqtt:Http:Port"] = http.ToString() });
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/admin/clients", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/dashboard", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Clients_are_listed_searched_filtered_and_paged()
    {
        var prefix = "adm-list-" + Guid.NewGuid().ToString("N")[..6];
        await using var a1 = await TestClient.ConnectAsync(_port, prefix + "-a1", configure: o => o.WithCleanSession(false));
        await using var a2 = await TestClient.ConnectAsync(_port, prefix + "-a2", configure: o => o.WithCleanSession(false));
        await using (var b1 = await TestClient.ConnectAsync(_port, prefix + "-b1", configure: o => o.WithCleanSession(false)))
        {
            await b1.SubscribeAsync("adm/list/#");
        }

        var all = await WaitForClients($"?search={prefix}", p => p.Clients.Length == 3 && p.Clients.Count(c => c.Connected) == 2, "three sessions, two online");
        Assert.Equal([prefix + "-a1", prefix + "-a2", prefix + "-b1"], all.Clients.Select(c => c.ClientId));
        Assert.Equal(1, all.Clients[2].Subscriptions);
        Assert.All(all.Clients, c => Assert.True(c.Persistent));

        var offline = await Get<AdminApi.ClientPage>($"/admin/clients?search={prefix}&connected=false");
        Assert.Equal(prefix + "-b1", Assert.Single(offline.Clients).ClientId);
        var search = await Get<AdminApi.ClientPage>($"/admin/clients?search={prefix.ToUpperInvariant()}-A");
        Assert.Equal(2, search.Clients.Length);

        var first = await Get<AdminApi.ClientPage>($"/admin/clients?search={prefix}&limit=2");
        Assert.Equal([prefix + "-a1", prefix + "-a2"], first.Clients.Select(c => c.ClientId));
        Assert.Equal(prefix + "-a2", first.Next);
        var second = await Get<AdminApi.ClientPage>($"/admin/clients?search={prefix}&limit=2&after={first.Next}");
        Assert.Equal(prefix + "-b1", Assert.Single(second.Clients).ClientId);
        Assert.Null(second.Next);
    }

    [Fact]
    public async Task A_sessions_subscriptions_and_queue_depth_are_shown()
    {
        var id = "adm-session-" + Guid.NewGuid().ToString("N")[..6];
        await using (var device = await TestClient.ConnectAsync(_port, id, configure: o => o.WithCleanSession(false)))
        {
            await device.SubscribeAsync($"adm/{id}/cmd", MqttQualityOfServiceLevel.AtLeastOnce);
            await device.SubscribeAsync($"adm/{id}/cfg/+", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await fixture.Broker.Grains.WaitUntilOfflineAsync(id);
        await using var publisher = await TestClient.ConnectAsync(_port, id + "-pub");
        for (var i = 0; i < 3; i++)
        {
            await publisher.PublishAsync($"adm/{id}/cmd", "go", MqttQualityOfServiceLevel.AtLeastOnce);
        }

        var session = await Get<AdminApi.SessionDetails>($"/admin/sessions/{id}");
        Assert.False(session.Connected);
        Assert.Equal(3, session.Queued);
        Assert.Equal(0, session.InFlight);
        Assert.Equal([$"adm/{id}/cfg/+", $"adm/{id}/cmd"], session.Subscriptions.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri("/admin/sessions/adm-nobody", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_client_is_disconnected_with_reason_administrative_action_and_keeps_its_session()
    {
        var id = "adm-kick-" + Guid.NewGuid().ToString("N")[..6];
        await using var device = await TestClient.ConnectAsync(_port, id, MqttProtocolVersion.V500, o => o.WithSessionExpiryInterval(600));
        var response = await _http.PostAsync(new Uri($"/admin/clients/{id}/disconnect", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var closed = await device.Disconnected.WaitAsync(TestClient.Patience);
        Assert.Equal(MQTTnet.MqttClientDisconnectReason.AdministrativeAction, closed.Reason);

        await fixture.Broker.Grains.WaitUntilOfflineAsync(id);
        Assert.False((await Get<AdminApi.SessionDetails>($"/admin/sessions/{id}")).Connected);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync(new Uri($"/admin/clients/{id}/disconnect", UriKind.Relative), null)).StatusCode);
    }

    [Fact]
    public async Task A_deleted_session_loses_its_connection_subscriptions_and_will()
    {
        var id = "adm-delete-" + Guid.NewGuid().ToString("N")[..6];
        var topic = $"adm/{id}";
        await using var watcher = await TestClient.ConnectAsync(_port, id + "-watcher");
        await watcher.SubscribeAsync(topic + "/will", MqttQualityOfServiceLevel.AtLeastOnce);
        await watcher.SubscribeAsync(topic + "/marker", MqttQualityOfServiceLevel.AtLeastOnce);
        await using var device = await TestClient.ConnectAsync(_port, id, MqttProtocolVersion.V500, o => o
            .WithSessionExpiryInterval(600).WithWillTopic(topic + "/will").WithWillPayload("gone"));
        await device.SubscribeAsync(topic + "/cmd", MqttQualityOfServiceLevel.AtLeastOnce);

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync(new Uri($"/admin/sessions/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(MQTTnet.MqttClientDisconnectReason.AdministrativeAction, (await device.Disconnected.WaitAsync(TestClient.Patience)).Reason);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri($"/admin/sessions/{id}", UriKind.Relative))).StatusCode);
        await WaitForClients($"?search={id}", p => !p.Clients.Any(c => c.ClientId == id), "the deleted session gone from the list");

        // Its subscription went with it (v5 PUBACK: no matching subscribers), and its will was not published.
        await using var publisher = await TestClient.ConnectAsync(_port, id + "-pub", MqttProtocolVersion.V500);
        var publish = await publisher.PublishAsync(topic + "/cmd", "anyone?", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.NoMatchingSubscribers, publish.ReasonCode);
        await publisher.PublishAsync(topic + "/marker", "end", MqttQualityOfServiceLevel.AtLeastOnce);
        Assert.Empty(await watcher.ReceiveUntilAsync(topic + "/marker"));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.DeleteAsync(new Uri($"/admin/sessions/{id}", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_message_published_through_the_API_reaches_subscribers_and_a_bad_topic_is_refused()
    {
        var topic = "adm/publish/" + Guid.NewGuid().ToString("N")[..6];
        await using var device = await TestClient.ConnectAsync(_port, "adm-pub-" + Guid.NewGuid().ToString("N")[..6]);
        await device.SubscribeAsync(topic, MqttQualityOfServiceLevel.AtLeastOnce);

        var response = await _http.PostAsJsonAsync(new Uri("/admin/publish", UriKind.Relative), new { topic, payload = "reboot", qos = 1 });
        response.EnsureSuccessStatusCode();
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<AdminApi.PublishResult>(Json))!.MatchedSubscriptions);
        var message = await device.ReceiveAsync("the message published through the API");
        Assert.Equal((topic, "reboot", MqttQualityOfServiceLevel.AtLeastOnce), (message.Topic, message.Text(), message.QualityOfServiceLevel));

        var binary = await _http.PostAsJsonAsync(new Uri("/admin/publish", UriKind.Relative), new { topic, payloadBase64 = Convert.ToBase64String([1, 2, 3]) });
        binary.EnsureSuccessStatusCode();
        Assert.Equal([1, 2, 3], System.Buffers.BuffersExtensions.ToArray((await device.ReceiveAsync("the binary message")).Payload));

        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsJsonAsync(new Uri("/admin/publish", UriKind.Relative), new { topic = "adm/+/bad", payload = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsJsonAsync(new Uri("/admin/publish", UriKind.Relative), new { topic, payload = "x", qos = 3 })).StatusCode);
    }

    [Fact]
    public async Task Retained_messages_are_listed_by_prefix_and_deleted()
    {
        var root = "admret" + Guid.NewGuid().ToString("N")[..6];
        await using var publisher = await TestClient.ConnectAsync(_port, root + "-pub");
        foreach (var room in new[] { "hall", "kitchen", "porch" })
        {
            await publisher.PublishAsync($"{root}/{room}/state", room, MqttQualityOfServiceLevel.AtLeastOnce, retain: true);
        }

        var page = await Get<AdminApi.RetainedPage>($"/admin/retained?prefix={root}/");
        Assert.Equal([$"{root}/hall/state", $"{root}/kitchen/state", $"{root}/porch/state"], page.Messages.Select(m => m.Topic));
        Assert.Equal("kitchen", page.Messages[1].Payload);
        Assert.Equal(7, page.Messages[1].PayloadBytes);
        var paged = await Get<AdminApi.RetainedPage>($"/admin/retained?prefix={root}/&limit=2");
        Assert.Equal($"{root}/kitchen/state", paged.Next);

        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync(new Uri($"/admin/retained/{root}/kitchen/state", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.DeleteAsync(new Uri($"/admin/retained/{root}/kitchen/state", UriKind.Relative))).StatusCode);
        page = await Get<AdminApi.RetainedPage>($"/admin/retained?prefix={root}/");
        Assert.Equal([$"{root}/hall/state", $"{root}/porch/state"], page.Messages.Select(m => m.Topic));

        // A new subscriber gets the two that remain.
        await using var subscriber = await TestClient.ConnectAsync(_port, root + "-sub");
        await subscriber.SubscribeAsync($"{root}/+/state");
        var received = new[] { (await subscriber.ReceiveAsync("a retained message")).Topic, (await subscriber.ReceiveAsync("a retained message")).Topic };
        Assert.Equal([$"{root}/hall/state", $"{root}/porch/state"], received.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Cluster_members_and_stats_show_the_silo_and_the_gateway()
    {
        await using var device = await TestClient.ConnectAsync(_port, "adm-cluster-" + Guid.NewGuid().ToString("N")[..6]);
        var members = await ObservedBroker.WaitForAsync(() => Get<AdminApi.ClusterMembers>("/admin/cluster"), m => m.Gateways.Length == 1, "the gateway reported");
        var silo = Assert.Single(members.Silos);
        Assert.Equal("Active", silo.Status);
        Assert.True(silo.Activations > 0);
        Assert.True(silo.Sessions >= 1);
        Assert.Equal(fixture.Broker.Services.GetRequiredService<GatewayEndpoint>().GatewayId, members.Gateways[0].GatewayId);

        var stats = await ObservedBroker.WaitForAsync(() => Get<ClusterStats>("/admin/stats"), s => s.History.Length > 0 && s.ClientsConnected >= 1, "a sample with a client");
        Assert.True(stats.StartedUtc <= stats.TakenUtc);
        Assert.Single(stats.Gateways);
    }

    [Fact]
    public async Task A_trace_is_started_for_a_client_and_listed()
    {
        var id = "adm-trace-" + Guid.NewGuid().ToString("N")[..6];
        var response = await _http.PostAsync(new Uri($"/admin/trace/{id}?minutes=2", UriKind.Relative), null);
        var trace = (await response.Content.ReadFromJsonAsync<AdminApi.TraceInfo>(Json))!;
        Assert.Equal(id, trace.ClientId);
        Assert.InRange(trace.UntilUtc, DateTime.UtcNow.AddMinutes(1.5), DateTime.UtcNow.AddMinutes(2.5));
        Assert.Contains(await Get<AdminApi.TraceInfo[]>("/admin/trace"), t => t.ClientId == id);
    }

    [Fact]
    public async Task The_OpenAPI_description_names_every_admin_call()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/admin/openapi/admin.json", UriKind.Relative)));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var route in Routes.Where(r => r.Contains("/admin/") && !r.Contains("openapi")))
        {
            var (method, path) = (route.Split(' ')[0].ToLowerInvariant(), route.Split(' ')[1]);
            var template = path switch
            {
                "/admin/sessions/x" => "/admin/sessions/{clientId}",
                "/admin/clients/x/disconnect" => "/admin/clients/{clientId}/disconnect",
                "/admin/retained/a/b" => "/admin/retained/{topic}",
                "/admin/trace/x" => "/admin/trace/{clientId}",
                _ => path,
            };
            Assert.True(paths.TryGetProperty(template, out var item) && item.TryGetProperty(method, out _), $"{method} {template} is not described");
        }
    }

    private async Task<T> Get<T>(string path) => (await _http.GetFromJsonAsync<T>(new Uri(path, UriKind.Relative), Json))!;

    private Task<AdminApi.ClientPage> WaitForClients(string query, Func<AdminApi.ClientPage, bool> condition, string awaited) =>
        ObservedBroker.WaitForAsync(() => Get<AdminApi.ClientPage>("/admin/clients" + query), condition, awaited);
}
