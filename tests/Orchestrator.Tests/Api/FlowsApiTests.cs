using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api;

public abstract class FlowsApiTests(DatabaseKind database)
{
    [Fact]
    public async Task CreateFlow_Returns201ThenExistingWith200_WhenNameRepeats()
    {
        await using var app = await TestApp.StartAsync(database);
        DateTime before = DateTime.UtcNow.AddSeconds(-1);

        var (created, first) = await app.PostAsync("/api/flows/", new { name = "my-flow", tags = new[] { "a" } });
        var (again, second) = await app.PostAsync("/api/flows/", new { name = "my-flow", tags = new[] { "b" } });

        created.Should().Be(201);
        DateTime.Parse(first.Str("created")!).ToUniversalTime().Should().BeAfter(before);
        again.Should().Be(200);
        second.Str("id").Should().Be(first.Str("id"));
        second!["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("a");
    }

    [Fact]
    public async Task CreateFlow_AcceptsBothCollectionPaths_WithoutRedirect()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, _) = await app.PostAsync("/api/flows", new { name = "no-slash" });

        status.Should().Be(201);
    }

    [Theory]
    [InlineData("my flow")]
    [InlineData("my:flow")]
    [InlineData("my\\flow")]
    [InlineData("my👍flow")]
    [InlineData("my|flow")]
    public async Task CreateFlow_AcceptsUnusualNames_AndReadsThemBackByName(string name)
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, flow) = await app.PostAsync("/api/flows/", new { name });
        var (readStatus, read) = await app.GetAsync($"/api/flows/name/{Uri.EscapeDataString(name)}");

        status.Should().Be(201);
        readStatus.Should().Be(200);
        read.Str("id").Should().Be(flow.Str("id"));
    }

    [Theory]
    [InlineData("my/flow")]
    [InlineData("my%flow")]
    [InlineData("my&flow")]
    [InlineData("my>flow")]
    [InlineData("my<flow")]
    public async Task CreateFlow_Returns422_WhenNameHasForbiddenCharacter(string name)
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await app.PostAsync("/api/flows/", new { name });

        status.Should().Be(422);
        body!["exception_detail"]![0]!["loc"]!.ToJsonString().Should().Be("[\"body\",\"name\"]");
    }

    [Fact]
    public async Task CreateFlow_Returns422InValidationShape_WhenBodyIsBad()
    {
        await using var app = await TestApp.StartAsync(database);

        var (missing, missingBody) = await app.PostAsync("/api/flows/", new { tags = Array.Empty<string>() });
        var (extra, extraBody) = await app.PostAsync("/api/flows/", new { name = "x", colour = "red" });
        var (nullTags, _) = await app.PostRawAsync("/api/flows/", "{\"name\": \"x\", \"tags\": null}");
        var (wrongType, _) = await app.PostRawAsync("/api/flows/", "{\"name\": 3}");
        var (malformed, malformedBody) = await app.PostRawAsync("/api/flows/", "{\"name\": ");

        missing.Should().Be(422);
        missingBody.Str("exception_message").Should().Be("Invalid request received.");
        missingBody!["exception_detail"]![0]!["msg"]!.GetValue<string>().Should().Be("field required");
        missingBody["request_body"]!["tags"].Should().NotBeNull();
        extra.Should().Be(422);
        extraBody!["exception_detail"]![0]!["type"]!.GetValue<string>().Should().Be("value_error.extra");
        nullTags.Should().Be(422);
        wrongType.Should().Be(422);
        malformed.Should().Be(422);
        malformedBody!["exception_detail"]![0]!["type"]!.GetValue<string>().Should().Be("value_error.jsondecode");
        (await app.PostAsync("/api/flows/count", new { })).Body!.GetValue<int>().Should().Be(0);
    }

    [Fact]
    public async Task ReadFlow_ReturnsFlow_AndNotFoundForUnknownOrMalformedIds()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.CreateFlowAsync("read-me");

        var (ok, flow) = await app.GetAsync($"/api/flows/{id}");
        var (unknown, unknownBody) = await app.GetAsync($"/api/flows/{Guid.NewGuid()}");
        var (malformed, _) = await app.GetAsync("/api/flows/not-a-uuid");
        var (unknownName, _) = await app.GetAsync("/api/flows/name/nobody");
        var (slashName, _) = await app.GetAsync("/api/flows/name/my/flow");

        ok.Should().Be(200);
        flow.Str("name").Should().Be("read-me");
        unknown.Should().Be(404);
        unknownBody.Str("detail").Should().Be("Flow not found");
        malformed.Should().Be(422);
        unknownName.Should().Be(404);
        slashName.Should().Be(404);
    }

    [Fact]
    public async Task UpdateFlow_WritesTags_AndEmptyBodyChangesNothing()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.CreateFlowAsync();

        var (patched, _) = await app.PatchAsync($"/api/flows/{id}", new { tags = new[] { "x", "y" } });
        var (empty, _) = await app.PatchAsync($"/api/flows/{id}", new { });
        var (unknown, _) = await app.PatchAsync($"/api/flows/{Guid.NewGuid()}", new { tags = new[] { "z" } });
        var (_, flow) = await app.GetAsync($"/api/flows/{id}");

        patched.Should().Be(204);
        empty.Should().Be(204);
        unknown.Should().Be(404);
        flow!["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("x", "y");
    }

    [Fact]
    public async Task DeleteFlow_RemovesFlowWithItsRuns_AndUnknownIsNotFound()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.CreateFlowAsync();
        var run = await app.CreateFlowRunAsync(id);
        var task = await app.CreateTaskRunAsync(ApiCalls.IdOf(run));

        var (deleted, _) = await app.DeleteAsync($"/api/flows/{id}");
        var (gone, _) = await app.GetAsync($"/api/flows/{id}");
        var (runGone, _) = await app.GetAsync($"/api/flow_runs/{ApiCalls.IdOf(run)}");
        var (taskGone, _) = await app.GetAsync($"/api/task_runs/{ApiCalls.IdOf(task)}");
        var (unknown, _) = await app.DeleteAsync($"/api/flows/{Guid.NewGuid()}");

        deleted.Should().Be(204);
        gone.Should().Be(404);
        runGone.Should().Be(404);
        taskGone.Should().Be(404);
        unknown.Should().Be(404);
    }

    [Fact]
    public async Task FilterFlows_SelectsByOwnAndRelatedFilters_SortsAndPages()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flow1 = await app.CreateFlowAsync("my-flow-1");
        Guid flow2 = await app.CreateFlowAsync("my-flow-2");
        var run = await app.CreateFlowRunAsync(flow2);
        var task = await app.CreateTaskRunAsync(ApiCalls.IdOf(run));

        async Task<List<string>> Names(object body) =>
            (await app.PostAsync("/api/flows/filter", body)).Body!.AsArray().Select(f => f.Str("name")!).ToList();

        (await Names(new { })).Should().Equal("my-flow-1", "my-flow-2");
        (await Names(new { limit = 1 })).Should().Equal("my-flow-1");
        (await Names(new { offset = 1 })).Should().Equal("my-flow-2");
        (await Names(new { sort = "NAME_DESC" })).Should().Equal("my-flow-2", "my-flow-1");
        (await Names(new { flows = new { name = new { any_ = new[] { "my-flow-1" } } } })).Should().Equal("my-flow-1");
        (await Names(new { flows = new { id = new { any_ = new[] { flow2 } } } })).Should().Equal("my-flow-2");
        (await Names(new { flow_runs = new { id = new { any_ = new[] { ApiCalls.IdOf(run) } } } })).Should().Equal("my-flow-2");
        (await Names(new { task_runs = new { id = new { any_ = new[] { ApiCalls.IdOf(task) } } } })).Should().Equal("my-flow-2");
        (await Names(new { flows = new { name = new { like_ = "FLOW-1" } } })).Should().Equal("my-flow-1");
        (await Names(new { flows = new { id = new { any_ = Array.Empty<Guid>() } } })).Should().BeEmpty();
        (await app.PostAsync("/api/flows/count", new { flows = new { id = new { any_ = new[] { flow1 } } } })).Body!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task FilterFlows_RefusesLimitsOutOfRange_AndUnknownFilterKeys()
    {
        await using var app = await TestApp.StartAsync(database);

        var (tooMany, tooManyBody) = await app.PostAsync("/api/flows/filter", new { limit = 201 });
        var (negative, negativeBody) = await app.PostAsync("/api/flows/filter", new { limit = -1 });
        var (badOffset, _) = await app.PostAsync("/api/flows/filter", new { offset = -1 });
        var (unknownKey, _) = await app.PostAsync("/api/flows/filter", new { flows = new { colour = "red" } });
        var (badSort, _) = await app.PostAsync("/api/flows/filter", new { sort = "SIDEWAYS" });
        var (ignoredTopLevel, _) = await app.PostAsync("/api/flows/filter", new { whatever = 1, sort = (string?)null, limit = (int?)null });

        tooMany.Should().Be(422);
        tooManyBody.Str("detail").Should().Be("Invalid limit: must be less than or equal to 200.");
        negative.Should().Be(422);
        negativeBody.Str("detail").Should().Be("Invalid limit: must be greater than or equal to 0.");
        badOffset.Should().Be(422);
        unknownKey.Should().Be(422);
        badSort.Should().Be(422);
        ignoredTopLevel.Should().Be(200);
    }
}

public sealed class FlowsApiTestsOnSqlite() : FlowsApiTests(DatabaseKind.Sqlite);

public sealed class FlowsApiTestsOnPostgres() : FlowsApiTests(DatabaseKind.Postgres);
