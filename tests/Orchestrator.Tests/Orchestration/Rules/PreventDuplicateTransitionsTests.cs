using Microsoft.EntityFrameworkCore;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>A proposal carrying the current state's transition id was decided already: same answer, nothing written.</summary>
public abstract class PreventDuplicateTransitionsTests(DatabaseKind database)
{
    private static Task<int> StateRowsAsync(TestApp app) =>
        app.WithDbAsync(async db => await db.TaskRunStates.CountAsync() + await db.FlowRunStates.CountAsync());

    [Theory]
    [InlineData("flow")]
    [InlineData("task")]
    public async Task ARepeatedProposal_GetsTheSameAnswer_AndWritesNothing(string kind)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid run = await app.RunInStateAsync(kind, new { type = "PENDING" });
        Guid transition = Guid.NewGuid();
        var proposal = new { type = "RUNNING", state_details = new { transition_id = transition } };

        var (firstStatus, first) = await app.SetStateAsync(kind, run, proposal);
        int rows = await StateRowsAsync(app);
        var runAfterFirst = await app.ReadAsync(kind, run);
        var (status, again) = await app.SetStateAsync(kind, run, proposal);

        first.Str("status").Should().Be("ACCEPT");
        status.Should().Be(firstStatus, "the answer is repeated whole");
        again.Str("status").Should().Be("ACCEPT");
        again!["state"].Str("id").Should().Be(first!["state"].Str("id"));
        again["state"].Str("timestamp").Should().Be(first["state"].Str("timestamp"));
        again["state"]!["state_details"].Str("transition_id").Should().Be(transition.ToString());
        (await StateRowsAsync(app)).Should().Be(rows);
        (await app.ReadAsync(kind, run))["run_count"]!.GetValue<int>().Should().Be(runAfterFirst["run_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task ARepeatedProposalThatWasReplaced_GetsTheReplacementAgain()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "RUNNING" }, new { empirical_policy = new { retries = 2, retry_delay = 10 } });
        var proposal = new { type = "FAILED", state_details = new { transition_id = Guid.NewGuid() } };

        var (_, first) = await app.SetTaskRunStateAsync(task, proposal);
        int rows = await StateRowsAsync(app);
        var (_, again) = await app.SetTaskRunStateAsync(task, proposal);

        first.Str("status").Should().Be("REJECT");
        first!["state"].Str("name").Should().Be("AwaitingRetry");
        again.Str("status").Should().Be("REJECT");
        again!["state"].Str("id").Should().Be(first["state"].Str("id"));
        (await StateRowsAsync(app)).Should().Be(rows);
    }

    [Fact]
    public async Task ANewTransitionId_OrNone_IsDecidedAsUsual()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid run = await app.RunInStateAsync("task", new { type = "RUNNING", state_details = new { transition_id = Guid.NewGuid() } });

        var (_, fresh) = await app.SetTaskRunStateAsync(run, new { type = "RUNNING", state_details = new { transition_id = Guid.NewGuid() } });
        var (_, without) = await app.SetTaskRunStateAsync(run, new { type = "RUNNING" });

        fresh.Str("status").Should().Be("ABORT", "RUNNING to RUNNING is redundant, as in 2.7.0");
        without.Str("status").Should().Be("ABORT");
    }

    [Fact]
    public async Task AnswersWithoutATransitionId_KeepThe27Shape()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid run = await app.RunInStateAsync("task", new { type = "PENDING" });

        var (_, answer) = await app.SetTaskRunStateAsync(run, new { type = "RUNNING" });

        answer!["state"]!["state_details"]!.AsObject().ContainsKey("transition_id").Should().BeFalse();
    }
}

public sealed class PreventDuplicateTransitionsTestsOnSqlite() : PreventDuplicateTransitionsTests(DatabaseKind.Sqlite);

public sealed class PreventDuplicateTransitionsTestsOnPostgres() : PreventDuplicateTransitionsTests(DatabaseKind.Postgres);
