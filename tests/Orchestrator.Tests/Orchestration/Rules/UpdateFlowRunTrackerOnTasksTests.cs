using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>UpdateFlowRunTrackerOnTasks (TRACK): a task entering RUNNING records its flow run's run count.</summary>
public abstract class UpdateFlowRunTrackerOnTasksTests(DatabaseKind database)
{
    [Theory]
    [InlineData(5)]
    [InlineData(42)]
    public async Task TRACK_01_EnteringRunning_RecordsTheFlowRunsRunCount(int flowRunCount)
    {
        await using var app = await TestApp.StartAsync(database);
        var policy = Policy(() => new UpdateFlowRunTrackerOnTasks());
        foreach (StateType? initial in Contexts.TypesAndNone)
        {
            Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" });
            await app.UpdateFlowRunAsync(flowRun, r => r.RunCount = flowRunCount);
            Guid task = initial is { } type
                ? IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = type.Wire(), state_details = new { scheduled_time = Iso(DateTime.UtcNow) } }))
                : await StatelessTaskInAsync(app, flowRun);
            await app.UpdateTaskRunAsync(task, r => r.FlowRunRunCount = 1);

            await app.ProposeAsync("task", task, Proposal(StateType.Running), policy);

            (await app.TaskRunAsync(task)).FlowRunRunCount.Should().Be(flowRunCount, $"from {initial}");
        }
    }

    private static async Task<Guid> StatelessTaskInAsync(TestApp app, Guid flowRunId)
    {
        Guid id = Guid.NewGuid();
        await app.WithDbAsync(async db =>
        {
            db.TaskRuns.Add(new TaskRun { Id = id, Created = DateTime.UtcNow, Updated = DateTime.UtcNow, Name = "t", FlowRunId = flowRunId, TaskKey = "k", DynamicKey = id.ToString() });
            await db.SaveChangesAsync();
        });
        return id;
    }

    [Fact]
    public async Task TRACK_02_FlowRunDeletedDuringTheTransition_IsAbortedAndRollsEverythingBack()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" });
        await app.UpdateTaskRunAsync(task, r => r.FlowRunRunCount = 1);
        // Listed after the tracker, so its after hook runs first. The tracker takes the count the task
        // run's lock read; the deletion took the task run with it, so the transition cannot be written.
        var policy = Policy(() => new UpdateFlowRunTrackerOnTasks(), () => new DeleteParentFlowRunAfterwards());

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), policy);

        result.Status.Should().Be(SetStateStatus.Abort);
        result.Details.Reason.Should().Be(RunStateChanger.WriteFailedReason);
        var run = await app.TaskRunAsync(task);
        run.FlowRunRunCount.Should().Be(1);
        run.StateType.Should().Be(StateType.Pending);
    }

    [Fact]
    public async Task TRACK_03_RunningAnsweredWaitAbortOrReject_LeavesTheTrackerAlone()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" });
        await app.UpdateFlowRunAsync(flowRun, r => r.RunCount = 7);
        Guid waiting = IdOf(await app.CreateTaskRunAsync(flowRun, state: Scheduled(DateTime.UtcNow.AddHours(1))));
        Guid aborted = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "RUNNING" }));
        await app.UpdateTaskRunAsync(aborted, r => r.FlowRunRunCount = 1);
        await CompleteWithKeyAsync(app, "k", null);
        Guid rejected = IdOf(await app.CreateTaskRunAsync(flowRun));

        (await app.SetTaskRunStateAsync(waiting, new { type = "RUNNING" })).Body.Str("status").Should().Be("WAIT");
        (await app.SetTaskRunStateAsync(aborted, new { type = "RUNNING" })).Body.Str("status").Should().Be("ABORT");
        (await app.SetTaskRunStateAsync(rejected, new { type = "RUNNING", state_details = new { cache_key = "k" } })).Body.Str("status").Should().Be("REJECT");

        (await app.TaskRunAsync(waiting)).FlowRunRunCount.Should().Be(0);
        (await app.TaskRunAsync(aborted)).FlowRunRunCount.Should().Be(1);
        (await app.TaskRunAsync(rejected)).FlowRunRunCount.Should().Be(0);
    }
}

public sealed class UpdateFlowRunTrackerOnTasksTestsOnSqlite() : UpdateFlowRunTrackerOnTasksTests(DatabaseKind.Sqlite);

public sealed class UpdateFlowRunTrackerOnTasksTestsOnPostgres() : UpdateFlowRunTrackerOnTasksTests(DatabaseKind.Postgres);
