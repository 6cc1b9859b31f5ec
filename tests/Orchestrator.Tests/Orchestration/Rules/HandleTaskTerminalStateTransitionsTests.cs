using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>HandleTaskTerminalStateTransitions (RERUN, TERM): finished task runs are protected, except re-runs while their flow retries.</summary>
public abstract class HandleTaskTerminalStateTransitionsTests(DatabaseKind database)
{
    private static async Task<(Guid FlowRun, Guid Task)> FailedTaskAsync(TestApp app, int flowRunCount, int tracker, int taskRunCount, int? flowRetries = null)
    {
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = flowRetries } });
        await app.UpdateFlowRunAsync(flowRun, r => r.RunCount = flowRunCount);
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }));
        await app.UpdateTaskRunAsync(task, r =>
        {
            r.FlowRunRunCount = tracker;
            r.RunCount = taskRunCount;
        });
        return (flowRun, task);
    }

    private static readonly Orchestrator.Orchestration.OrchestrationPolicy TerminalAndTracker =
        Policy(() => new HandleTaskTerminalStateTransitions(), () => new UpdateFlowRunTrackerOnTasks());

    [Fact]
    public async Task RERUN_01_FlowRetrying_LetsAFailedTaskRunAgainAsRetrying()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, task) = await FailedTaskAsync(app, flowRunCount: 4, tracker: 2, taskRunCount: 2);

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), TerminalAndTracker);
        var run = await app.TaskRunAsync(task);

        result.Status.Should().Be(SetStateStatus.Accept);
        result.State!.Name.Should().Be("Retrying");
        run.RunCount.Should().Be(1, "reset to 0 by the rule, then counted by the bookkeeping");
        run.FlowRunRunCount.Should().Be(4);
    }

    [Fact]
    public async Task RERUN_02_FlowNotRetrying_AbortsTheRerun()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, task) = await FailedTaskAsync(app, flowRunCount: 3, tracker: 3, taskRunCount: 2);

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), TerminalAndTracker);
        var run = await app.TaskRunAsync(task);

        result.Status.Should().Be(SetStateStatus.Abort);
        result.State.Should().BeNull();
        run.RunCount.Should().Be(2);
        run.FlowRunRunCount.Should().Be(3);
    }

    [Fact]
    public async Task RERUN_03_FlowsAutomaticRetriesExhausted_StillAllowsTheRerun()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, task) = await FailedTaskAsync(app, flowRunCount: 4, tracker: 2, taskRunCount: 2, flowRetries: 1);

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), TerminalAndTracker);

        result.Status.Should().Be(SetStateStatus.Accept);
        result.State!.Name.Should().Be("Retrying");
        (await app.TaskRunAsync(task)).FlowRunRunCount.Should().Be(4);
    }

    [Fact]
    public async Task RERUN_04_LaterRejection_FizzlesTheRuleAndRestoresRunCount()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, task) = await FailedTaskAsync(app, flowRunCount: 4, tracker: 2, taskRunCount: 2);
        var policy = Policy(() => new HandleTaskTerminalStateTransitions(), () => new UpdateFlowRunTrackerOnTasks(), () => new RejectToPaused());

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), policy);
        var run = await app.TaskRunAsync(task);

        result.Status.Should().Be(SetStateStatus.Reject);
        run.RunCount.Should().Be(2);
        run.FlowRunRunCount.Should().Be(2);
    }

    [Fact]
    public async Task RERUN_05_WholePolicy_RerunIsRetryingAndTheTasksOwnRetriesApplyAgain()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "RUNNING" }, extra: new { empirical_policy = new { retries = 1 } }));
        await app.SetTaskRunStateAsync(task, new { type = "FAILED" });
        await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        (await app.SetTaskRunStateAsync(task, new { type = "FAILED" })).Body.Str("status").Should().Be("ACCEPT");
        await app.SetFlowRunStateAsync(flowRun, new { type = "FAILED" });
        await app.SetFlowRunStateAsync(flowRun, new { type = "RUNNING" });

        var (_, rerun) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        var (_, failedAgain) = await app.SetTaskRunStateAsync(task, new { type = "FAILED" });

        rerun.Str("status").Should().Be("ACCEPT");
        rerun!["state"].Str("name").Should().Be("Retrying");
        failedAgain.Str("status").Should().Be("REJECT", "run_count is 1 again, within the task's one retry");
    }

    [Fact]
    public async Task RERUN_06_CompletedTask_IsNotRerunWhileTheFlowRetries()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" });
        await app.UpdateFlowRunAsync(flowRun, r => r.RunCount = 2);
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "COMPLETED" }));

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("This run has already terminated.");
    }

    [Fact]
    public async Task RERUN_07_TaskThatFailedWithoutRunning_MayRunOnTheFlowsFirstAttempt()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" });
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }));

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be("Retrying");
    }

    [Fact]
    public async Task RERUN_08_FlowRetryingButLimitFull_WaitsAndRestoresRunCount()
    {
        await using var app = await TestApp.StartAsync(database, settings: ConcurrencyLimitTests.FixedWaits);
        await app.CreateLimitAsync("full", 1);
        Guid holder = await app.RunInStateAsync("task", new { type = "PENDING" }, new { tags = new[] { "full" } });
        await app.SetTaskRunStateAsync(holder, new { type = "RUNNING" });
        var (_, task) = await FailedTaskAsync(app, flowRunCount: 4, tracker: 2, taskRunCount: 2);
        await app.UpdateTaskRunAsync(task, r => r.Tags = ["full"]);

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        var run = await app.TaskRunAsync(task);

        result.Str("status").Should().Be("WAIT");
        result!["details"]!["delay_seconds"]!.GetValue<int>().Should().Be(30);
        run.RunCount.Should().Be(2);
        run.StateType.Should().Be(StateType.Failed);
    }

    [Theory]
    [MemberData(nameof(TerminalProtection.TerminalToAny), MemberType = typeof(TerminalProtection))]
    public async Task TERM_01_03_TerminalTaskRuns_AbortEveryProposal_UnlessForced(StateType initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        await TerminalProtection.AbortsEveryProposalUnlessForcedAsync(app, "task", () => new HandleTaskTerminalStateTransitions(), initial, proposed);
    }

    [Theory]
    [MemberData(nameof(TerminalProtection.NonTerminalToAny), MemberType = typeof(TerminalProtection))]
    public async Task TERM_02_NonTerminalTaskRuns_AreNotProtected(StateType? initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        await TerminalProtection.DoesNotProtectAsync(app, "task", () => new HandleTaskTerminalStateTransitions(), initial, proposed);
    }
}

public sealed class HandleTaskTerminalStateTransitionsTestsOnSqlite() : HandleTaskTerminalStateTransitionsTests(DatabaseKind.Sqlite);

public sealed class HandleTaskTerminalStateTransitionsTestsOnPostgres() : HandleTaskTerminalStateTransitionsTests(DatabaseKind.Postgres);
