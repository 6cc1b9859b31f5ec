using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>Saved searches (server-services.md §10.1).</summary>
public abstract class SavedSearchesApiTests(DatabaseKind database)
{
    private static readonly object Filter = new { @object = "flow_run", property = "state", type = "string", operation = "eq", value = "FAILED" };

    [Fact]
    public async Task Put_CreatesThenReplacesByName_KeepingTheId()
    {
        await using var app = await TestApp.StartAsync(database);

        var (created, first) = await app.PutAsync("/api/saved_searches/", new { name = "failures", filters = new[] { Filter } });
        var (replaced, second) = await app.PutAsync("/api/saved_searches/", new { name = "failures" });

        created.Should().Be(201);
        first!["filters"]!.AsArray().Should().ContainSingle().Which!["value"]!.GetValue<string>().Should().Be("FAILED");
        replaced.Should().Be(200);
        second.Str("id").Should().Be(first.Str("id"));
        second!["filters"]!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task ReadFilterAndDelete()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, b) = await app.PutAsync("/api/saved_searches/", new { name = "b" });
        await app.PutAsync("/api/saved_searches/", new { name = "a" });

        (await app.GetAsync($"/api/saved_searches/{IdOf(b)}")).Body.Str("name").Should().Be("b");
        (await app.PostAsync("/api/saved_searches/filter", new { })).Body!.AsArray().Select(s => s.Str("name")).Should().Equal("a", "b");
        (await app.DeleteAsync($"/api/saved_searches/{IdOf(b)}")).Status.Should().Be(204);
        (await app.GetAsync($"/api/saved_searches/{IdOf(b)}")).Status.Should().Be(404);
        (await app.DeleteAsync($"/api/saved_searches/{IdOf(b)}")).Status.Should().Be(404);
    }

    [Theory]
    [InlineData("""{"filters": []}""")]
    [InlineData("""{"name": "x", "filters": [{"object": "flow_run"}]}""")]
    [InlineData("""{"name": "x", "extra": 1}""")]
    public async Task BadBodies_Are422(string body)
    {
        await using var app = await TestApp.StartAsync(database);

        (await app.PutAsync("/api/saved_searches/", body)).Status.Should().Be(422);
    }
}

public sealed class SavedSearchesApiTestsOnSqlite() : SavedSearchesApiTests(DatabaseKind.Sqlite);

public sealed class SavedSearchesApiTestsOnPostgres() : SavedSearchesApiTests(DatabaseKind.Postgres);
