using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Api.Security;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api.Security;

public abstract class ApiKeyAuthenticationTests(DatabaseKind database)
{
    private const string ReadKey = "read-key-for-tests";
    private const string WriteKey = "write-key-for-tests";
    private const string AdminKey = "admin-key-for-tests";

    private static Dictionary<string, string?> Keys => new()
    {
        ["Auth:ApiKeys:0:Sha256"] = ApiKeyRing.Hash(ReadKey),
        ["Auth:ApiKeys:0:Scope"] = "read",
        ["Auth:ApiKeys:1:Sha256"] = ApiKeyRing.Hash(WriteKey),
        ["Auth:ApiKeys:1:Scope"] = "write",
        ["Auth:ApiKeys:2:Sha256"] = ApiKeyRing.Hash(AdminKey),
        ["Auth:ApiKeys:2:Scope"] = "admin",
    };

    private static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(
        TestApp app, HttpMethod method, string path, string? key, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (body is not null)
        {
            request.Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        var response = await app.Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.StartsWith('{') || text.StartsWith('[') ? JsonNode.Parse(text) : null, response);
    }

    private static async Task<Guid> CreateFlowAsync(TestApp app, string name)
    {
        var (status, body, _) = await SendAsync(app, HttpMethod.Post, "/api/flows/", WriteKey, new { name });
        status.Should().Be(201);
        return ApiCalls.IdOf(body);
    }

    [Fact]
    public async Task ARequestWithoutAKey_IsAnswered401InPrefectsErrorShape()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);

        var (status, body, response) = await SendAsync(app, HttpMethod.Post, "/api/flows/filter", key: null, new { });

        status.Should().Be(401);
        body.Str("detail").Should().Contain("API key");
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
    }

    [Fact]
    public async Task AnUnknownKeyOrAnotherScheme_IsAnswered401()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);

        var (unknown, unknownBody, _) = await SendAsync(app, HttpMethod.Get, "/api/admin/version", "not-a-configured-key");
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/api/admin/version");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
        using var basicResponse = await app.Client.SendAsync(basic);

        unknown.Should().Be(401);
        unknownBody.Str("detail").Should().Be("Invalid API key.");
        ((int)basicResponse.StatusCode).Should().Be(401);
    }

    [Fact]
    public async Task AReadKey_ReadsAndFilters_ButCannotWrite()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);
        Guid flow = await CreateFlowAsync(app, "readable");

        var (read, _, _) = await SendAsync(app, HttpMethod.Get, $"/api/flows/{flow}", ReadKey);
        var (filter, filtered, _) = await SendAsync(app, HttpMethod.Post, "/api/flows/filter", ReadKey, new { });
        var (count, _, _) = await SendAsync(app, HttpMethod.Post, "/api/flows/count", ReadKey, new { });
        var (create, refused, _) = await SendAsync(app, HttpMethod.Post, "/api/flows/", ReadKey, new { name = "not-allowed" });

        read.Should().Be(200);
        filter.Should().Be(200);
        filtered!.AsArray().Should().ContainSingle();
        count.Should().Be(200);
        create.Should().Be(403);
        refused.Str("detail").Should().Be("This API key has the read scope; POST /api/flows/ needs write.");
    }

    [Fact]
    public async Task AWriteKey_RunsFlows_ButCannotDeleteFlowsOrLimitsOrClearTheDatabase()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);
        Guid flow = await CreateFlowAsync(app, "kept");
        var (limit, _, _) = await SendAsync(app, HttpMethod.Post, "/api/concurrency_limits/", WriteKey, new { tag = "t", concurrency_limit = 1 });
        var (run, created, _) = await SendAsync(app, HttpMethod.Post, "/api/flow_runs/", WriteKey, new { flow_id = flow });
        var (state, _, _) = await SendAsync(app, HttpMethod.Post, $"/api/flow_runs/{ApiCalls.IdOf(created)}/set_state", WriteKey, new { state = new { type = "RUNNING" } });

        var (deleteFlow, _, _) = await SendAsync(app, HttpMethod.Delete, $"/api/flows/{flow}", WriteKey);
        var (deleteLimit, _, _) = await SendAsync(app, HttpMethod.Delete, "/api/concurrency_limits/tag/t", WriteKey);
        var (reset, _, _) = await SendAsync(app, HttpMethod.Post, "/api/concurrency_limits/tag/t/reset", WriteKey, new { });
        var (clear, _, _) = await SendAsync(app, HttpMethod.Post, "/api/admin/database/clear", WriteKey, new { confirm = true });
        var (settings, _, _) = await SendAsync(app, HttpMethod.Get, "/api/admin/settings", WriteKey);

        (limit, run, state).Should().Be((200, 201, 201));
        (deleteFlow, deleteLimit, reset, clear, settings).Should().Be((403, 403, 403, 403, 403));
        (await SendAsync(app, HttpMethod.Get, $"/api/flows/{flow}", ReadKey)).Status.Should().Be(200);
    }

    [Fact]
    public async Task AnAdminKey_MayDoEverything()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);
        Guid flow = await CreateFlowAsync(app, "doomed");

        var (deleteFlow, _, _) = await SendAsync(app, HttpMethod.Delete, $"/api/flows/{flow}", AdminKey);
        var (create, _, _) = await SendAsync(app, HttpMethod.Post, "/api/flows/", AdminKey, new { name = "by-admin" });
        var (clear, _, _) = await SendAsync(app, HttpMethod.Post, "/api/admin/database/clear", AdminKey, new { confirm = true });

        (deleteFlow, create, clear).Should().Be((204, 201, 204));
    }

    [Fact]
    public async Task SecretsOfBlockDocuments_NeedTheWriteScope()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);
        var (_, secretType, _) = await SendAsync(app, HttpMethod.Get, "/api/block_types/slug/secret", ReadKey);
        var (_, schemas, _) = await SendAsync(app, HttpMethod.Post, "/api/block_schemas/filter", ReadKey,
            new { block_schemas = new { block_type_id = new { any_ = new[] { secretType!["id"]!.GetValue<string>() } } } });
        var (created, document, _) = await SendAsync(app, HttpMethod.Post, "/api/block_documents/", WriteKey, new
        {
            name = "db-password",
            data = new { value = "hunter2" },
            block_schema_id = schemas![0]!["id"]!.GetValue<string>(),
            block_type_id = secretType["id"]!.GetValue<string>(),
        });
        Guid id = ApiCalls.IdOf(document);

        var (masked, maskedBody, _) = await SendAsync(app, HttpMethod.Get, $"/api/block_documents/{id}", ReadKey);
        var (refused, _, _) = await SendAsync(app, HttpMethod.Get, $"/api/block_documents/{id}?include_secrets=true", ReadKey);
        var (refusedFilter, _, _) = await SendAsync(app, HttpMethod.Post, "/api/block_documents/filter", ReadKey, new { include_secrets = true });
        var (allowed, secret, _) = await SendAsync(app, HttpMethod.Get, $"/api/block_documents/{id}?include_secrets=true", WriteKey);

        created.Should().Be(201);
        masked.Should().Be(200);
        maskedBody!["data"].Str("value").Should().NotBe("hunter2");
        (refused, refusedFilter).Should().Be((403, 403));
        allowed.Should().Be(200);
        secret!["data"].Str("value").Should().Be("hunter2");
    }

    [Fact]
    public async Task HealthAndTheDocumentation_StayOpen()
    {
        await using var app = await TestApp.StartAsync(database, settings: Keys);

        var (health, _, _) = await SendAsync(app, HttpMethod.Get, "/api/health", key: null);
        using var docs = await app.Client.GetAsync("/docs/index.html");
        using var document = await app.Client.GetAsync("/swagger/v1/swagger.json");

        health.Should().Be(200);
        ((int)docs.StatusCode).Should().Be(200);
        ((int)document.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task WithoutConfiguredKeys_EveryRequestIsAllowed()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flow = await app.CreateFlowAsync("open");

        (await app.DeleteAsync($"/api/flows/{flow}")).Status.Should().Be(204);
        (await app.PostAsync("/api/admin/database/clear", new { confirm = true })).Status.Should().Be(204);
    }
}

public sealed class ApiKeyAuthenticationTestsOnSqlite() : ApiKeyAuthenticationTests(DatabaseKind.Sqlite);

public sealed class ApiKeyAuthenticationTestsOnPostgres() : ApiKeyAuthenticationTests(DatabaseKind.Postgres);
