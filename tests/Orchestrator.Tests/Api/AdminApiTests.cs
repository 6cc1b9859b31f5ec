using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api;

public abstract class AdminApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_ADM_01_03_VersionHelloAndHealth()
    {
        await using var app = await TestApp.StartAsync(database);

        var (version, versionBody) = await app.GetAsync("/api/admin/version");
        var (hello, helloBody) = await app.GetAsync("/api/hello");
        var (health, healthBody) = await app.GetAsync("/api/health");

        version.Should().Be(200);
        versionBody!.GetValue<string>().Should().Be("2.7.0");
        hello.Should().Be(200);
        helloBody!.GetValue<string>().Should().Be("👋");
        health.Should().Be(200);
        healthBody!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task API_ADM_02_ClearDatabase_DeletesEverything_OnlyWhenConfirmed()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = await app.CreateFlowAsync("with-deployment") });
        await app.CreateTaskRunAsync();
        await app.CreateLimitAsync("tag", 1);

        var (noBody, _) = await app.PostAsync("/api/admin/database/clear");
        var (notConfirmed, _) = await app.PostAsync("/api/admin/database/clear", new { confirm = false });
        int flowsBefore = (await app.PostAsync("/api/flows/count", new { })).Body!.GetValue<int>();
        var (cleared, _) = await app.PostAsync("/api/admin/database/clear", new { confirm = true });

        noBody.Should().Be(400);
        notConfirmed.Should().Be(400);
        flowsBefore.Should().Be(2);
        cleared.Should().Be(204);
        foreach (string resource in new[] { "flows", "flow_runs", "task_runs", "deployments" })
        {
            (await app.PostAsync($"/api/{resource}/count", new { })).Body!.GetValue<int>().Should().Be(0, resource);
        }

        (await app.PostAsync("/api/concurrency_limits/filter", new { })).Body!.AsArray().Should().BeEmpty();
        deployment.Should().NotBeNull();
    }

    [Fact]
    public async Task API_ADM_04_VersionHeader_RefusesMalformedAndOldVersions()
    {
        await using var app = await TestApp.StartAsync(database);

        async Task<(int, string?)> Get(string? version)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/admin/version");
            if (version is not null)
            {
                request.Headers.Add("X-PREFECT-API-VERSION", version);
            }

            using var response = await app.Client.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (malformed, malformedBody) = await Get("not a real version header");
        var (old, oldBody) = await Get("0.7.9");
        var (current, _) = await Get("0.8.3");
        var (newer, _) = await Get("1.0.0");
        var (none, _) = await Get(null);

        malformed.Should().Be(400);
        malformedBody.Should().Contain("Invalid X-PREFECT-API-VERSION header format.");
        old.Should().Be(400);
        oldBody.Should().Contain("requires version 0.8.0 or higher");
        current.Should().Be(200);
        newer.Should().Be(200);
        none.Should().Be(200);
    }

    [Fact]
    public async Task HealthCheck_IgnoresTheVersionHeader()
    {
        await using var app = await TestApp.StartAsync(database);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/health");
        request.Headers.Add("X-PREFECT-API-VERSION", "garbage");

        using var response = await app.Client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task SwaggerUi_AndOpenApiDocument_AreServed()
    {
        await using var app = await TestApp.StartAsync(database);

        using var docs = await app.Client.GetAsync("/docs/index.html");
        using var openApi = await app.Client.GetAsync("/swagger/v1/swagger.json");
        string document = await openApi.Content.ReadAsStringAsync();

        ((int)docs.StatusCode).Should().Be(200);
        ((int)openApi.StatusCode).Should().Be(200);
        document.Should().Contain("/api/task_runs/{id}/set_state").And.Contain("/api/flows/filter");
    }

    [Fact]
    public async Task Settings_ShowTheServicesEffectiveValues_ByTheirPrefectNames()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Services:LateRuns:AfterSeconds"] = "42" });

        var (status, settings) = await app.GetAsync("/api/admin/settings");

        status.Should().Be(200);
        settings!["PREFECT_ORION_SERVICES_LATE_RUNS_AFTER_SECONDS"]!.GetValue<double>().Should().Be(42);
        settings["PREFECT_ORION_SERVICES_SCHEDULER_MIN_RUNS"]!.GetValue<int>().Should().Be(3);
        settings["PREFECT_ORION_DATABASE_CONNECTION_URL"]!.GetValue<string>().Should().Be("********");
    }
}

public sealed class AdminApiTestsOnSqlite() : AdminApiTests(DatabaseKind.Sqlite);

public sealed class AdminApiTestsOnPostgres() : AdminApiTests(DatabaseKind.Postgres);
