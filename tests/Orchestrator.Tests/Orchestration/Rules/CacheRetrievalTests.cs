using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>CacheRetrieval (CACHE): a live cache entry answers RUNNING with its COMPLETED state.</summary>
public abstract class CacheRetrievalTests(DatabaseKind database)
{
    [Fact]
    public async Task CACHE_01_ExpiredEntry_IsIgnored()
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "cache-hit", DateTime.UtcNow.AddDays(-1));
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "cache-hit" } });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be("Running");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CACHE_02_03_LiveEntry_IsReturnedAsCached(bool withExpiration)
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "cache-hit", withExpiration ? DateTime.UtcNow.AddDays(1) : null);
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "cache-hit" } });

        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("type").Should().Be("COMPLETED");
        result["state"].Str("name").Should().Be("Cached");
    }

    [Fact]
    public async Task CACHE_06_CacheHit_WritesANewCachedStateForTheRequestingRun()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid cachedId = await CompleteWithKeyAsync(app, "key", null, new { answer = 42 });
        var other = await app.CreateTaskRunAsync();

        var (status, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });
        var run = await app.ReadAsync("task", IdOf(other));
        var (_, history) = await app.GetAsync($"/api/task_run_states/?task_run_id={IdOf(other)}");

        status.Should().Be(201);
        result!["details"].Str("reason").Should().Be("Retrieved state from cache");
        result["state"].Str("id").Should().NotBe(cachedId.ToString());
        result["state"]!["state_details"].Str("task_run_id").Should().Be(IdOf(other).ToString());
        result["state"]!["state_details"].Str("cache_key").Should().Be("key");
        result["state"]!["data"]!.ToJsonString().Should().Be("{\"answer\":42}");
        run["run_count"]!.GetValue<int>().Should().Be(0);
        run["start_time"].Should().BeNull();
        run["end_time"].Should().BeNull();
        history!.AsArray().Select(s => s.Str("name")).Should().Equal("Pending", "Cached");
    }

    [Fact]
    public async Task CACHE_08_CacheHit_WinsOverTerminalProtection()
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "key", null);
        Guid failed = await app.RunInStateAsync("task", new { type = "FAILED" });

        var (_, result) = await app.SetTaskRunStateAsync(failed, new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("name").Should().Be("Cached");
    }

    [Fact]
    public async Task CACHE_09_NewestEntryPointingAtADeletedState_MissesEvenWithOlderValidEntries()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await CompleteWithKeyAsync(app, "key", null);
        clock.Advance(TimeSpan.FromSeconds(1));
        var newer = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(IdOf(newer), new { type = "COMPLETED", state_details = new { cache_key = "key" } });
        await app.DeleteAsync($"/api/task_runs/{IdOf(newer)}");
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be("Running");
    }

    [Fact]
    public async Task CACHE_10_TwoEntries_TheNewestIsReturned()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await CompleteWithKeyAsync(app, "key", null, new { v = "old" });
        clock.Advance(TimeSpan.FromSeconds(1));
        await CompleteWithKeyAsync(app, "key", null, new { v = "new" });
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result!["state"]!["data"]!.ToJsonString().Should().Be("{\"v\":\"new\"}");
    }
}

public sealed class CacheRetrievalTestsOnSqlite() : CacheRetrievalTests(DatabaseKind.Sqlite);

public sealed class CacheRetrievalTestsOnPostgres() : CacheRetrievalTests(DatabaseKind.Postgres);
