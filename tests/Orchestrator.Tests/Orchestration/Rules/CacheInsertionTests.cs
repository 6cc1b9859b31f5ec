using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>CacheInsertion (CACHE): completed states with a cache key are written to the cache.</summary>
public abstract class CacheInsertionTests(DatabaseKind database)
{
    [Fact]
    public async Task CACHE_04_InsertionScope_DoesNotMaskAnEarlierError()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.RunInStateAsync("task", new { type = "RUNNING" });
        var policy = Policy(
            () => new CacheInsertion(),
            () => new FailingRule());

        var act = () => app.ProposeAsync("task", id, Proposal(StateType.Completed, details: new StateDetails { CacheKey = "k" }), policy);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("rule failed");
        (await app.WithDbAsync(db => db.TaskRunStateCache.CountAsync())).Should().Be(0);
    }

    [Fact]
    public async Task CACHE_05_OnlyCompletedStates_AreCached()
    {
        await using var app = await TestApp.StartAsync(database);
        var policy = Policy(() => new CacheRetrieval(), () => new CacheInsertion());
        foreach (StateType type in StateTypes.All.Where(t => t != StateType.Completed))
        {
            Guid id = await app.RunInStateAsync("task", new { type = "RUNNING" });
            var written = await app.ProposeAsync("task", id, Proposal(type, details: new StateDetails { CacheKey = "cache-hit" }), policy);
            Guid other = await app.RunInStateAsync("task", new { type = "PENDING" });
            var next = await app.ProposeAsync("task", other, Proposal(StateType.Running, details: new StateDetails { CacheKey = "cache-hit" }), policy);

            written.Status.Should().Be(SetStateStatus.Accept);
            next.Status.Should().Be(SetStateStatus.Accept, $"a {type} state is not cached");
        }
    }

    [Fact]
    public async Task CACHE_07_ForcedCompletion_IsNotCached()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.RunInStateAsync("task", new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(id, new { type = "COMPLETED", state_details = new { cache_key = "forced" } }, force: true);
        var other = await app.CreateTaskRunAsync();

        (await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "forced" } }))
            .Body.Str("status").Should().Be("ACCEPT");
    }
}

public sealed class CacheInsertionTestsOnSqlite() : CacheInsertionTests(DatabaseKind.Sqlite);

public sealed class CacheInsertionTestsOnPostgres() : CacheInsertionTests(DatabaseKind.Postgres);
