using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

/// <summary>The global transforms (test-scenarios.md C), for flow runs and task runs, through the API.</summary>
public abstract class BookkeepingTests(DatabaseKind database)
{
    [Fact]
    public async Task GLB_01_03_FirstState_SetsRunStateTypeNameAndTimestamp()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            foreach (StateType type in StateTypes.All)
            {
                Guid id = await app.StatelessRunAsync(kind);

                var (status, result) = await app.SetStateAsync(kind, id, new { type = type.Wire() });
                var run = await app.ReadAsync(kind, id);

                status.Should().Be(201, $"{kind} None -> {type}");
                run.Str("state_type").Should().Be(type.Wire());
                run.Str("state_name").Should().Be(type.DefaultName());
                run.Str("state_id").Should().Be(result!["state"].Str("id"));
            }
        }
    }

    [Fact]
    public async Task GLB_04_05_NextScheduledStartTime_IsSetBySchedulingAndClearedWhenLeaving()
    {
        await using var app = await TestApp.StartAsync(database);
        string scheduled = Iso(DateTime.UtcNow.AddSeconds(42));
        foreach (string kind in Scenarios.Kinds)
        {
            Guid id = await app.StatelessRunAsync(kind);

            await app.SetStateAsync(kind, id, new { type = "SCHEDULED", state_details = new { scheduled_time = scheduled } });
            var afterScheduling = await app.ReadAsync(kind, id);
            await app.SetStateAsync(kind, id, new { type = "PENDING" }, force: true);
            var afterPending = await app.ReadAsync(kind, id);

            afterScheduling.Str("next_scheduled_start_time").Should().Be(scheduled);
            afterScheduling["start_time"].Should().BeNull();
            afterPending["next_scheduled_start_time"].Should().BeNull();
            afterPending["start_time"].Should().BeNull();
        }
    }

    [Fact]
    public async Task GLB_06_07_ExpectedStartTime_ComesFromTheFirstStateOrItsSchedule()
    {
        await using var app = await TestApp.StartAsync(database);
        string inTenDays = Iso(DateTime.UtcNow.AddDays(10));
        foreach (string kind in Scenarios.Kinds)
        {
            foreach (string type in new[] { "PENDING", "RUNNING", "COMPLETED" })
            {
                Guid id = await app.StatelessRunAsync(kind);
                var (_, result) = await app.SetStateAsync(kind, id, new { type });
                (await app.ReadAsync(kind, id)).Str("expected_start_time").Should().Be(result!["state"].Str("timestamp"));
            }

            Guid scheduledId = await app.StatelessRunAsync(kind);
            await app.SetStateAsync(kind, scheduledId, new { type = "SCHEDULED", state_details = new { scheduled_time = inTenDays } });
            (await app.ReadAsync(kind, scheduledId)).Str("expected_start_time").Should().Be(inTenDays);
        }
    }

    [Fact]
    public async Task GLB_08_09_10_EnteringRunning_SetsStartTimeAndCountsTheRun()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            Guid first = await app.RunInStateAsync(kind, new { type = "PENDING" });
            Guid counted = await app.RunInStateAsync(kind, new { type = "PENDING" });
            await app.UpdateRunAsync(kind, counted, r => r.RunCount = 41);

            var (_, result) = await app.SetStateAsync(kind, first, new { type = "RUNNING" });
            await app.SetStateAsync(kind, counted, new { type = "RUNNING" });

            var run = await app.ReadAsync(kind, first);
            run.Str("start_time").Should().Be(result!["state"].Str("timestamp"));
            run["run_count"]!.GetValue<int>().Should().Be(1);
            (await app.ReadAsync(kind, counted))["run_count"]!.GetValue<int>().Should().Be(42);
        }
    }

    [Fact]
    public async Task GLB_11_12_RunTime_AccumulatesOnlyWhenLeavingRunning()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        foreach (string kind in Scenarios.Kinds)
        {
            Guid running = await app.RunInStateAsync(kind, new { type = "RUNNING" });
            Guid pending = await app.RunInStateAsync(kind, new { type = "PENDING" });
            clock.Advance(TimeSpan.FromSeconds(42));

            await app.SetStateAsync(kind, running, new { type = "COMPLETED" });
            await app.SetStateAsync(kind, pending, new { type = "COMPLETED" });

            (await app.ReadAsync(kind, running)).Seconds("total_run_time").Should().BeApproximately(42, 0.01);
            (await app.ReadAsync(kind, pending)).Seconds("total_run_time").Should().Be(0);
        }
    }

    [Fact]
    public async Task GLB_13_EnteringATerminalState_SetsEndTime()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            foreach (string terminal in new[] { "COMPLETED", "FAILED", "CANCELLED", "CRASHED" })
            {
                Guid id = await app.RunInStateAsync(kind, new { type = "RUNNING" });
                var (_, result) = await app.SetStateAsync(kind, id, new { type = terminal });
                (await app.ReadAsync(kind, id)).Str("end_time").Should().Be(result!["state"].Str("timestamp"), $"{kind} -> {terminal}");
            }
        }
    }

    [Fact]
    public async Task GLB_14_15_LeavingATerminalState_ClearsEndTime_TerminalToTerminalKeepsIt()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            foreach (string terminal in new[] { "COMPLETED", "FAILED", "CANCELLED", "CRASHED" })
            {
                Guid id = await app.RunInStateAsync(kind, new { type = "RUNNING" });
                await app.SetStateAsync(kind, id, new { type = terminal });
                await app.SetStateAsync(kind, id, new { type = "RUNNING" }, force: true);
                (await app.ReadAsync(kind, id))["end_time"].Should().BeNull($"{kind} {terminal} -> RUNNING");
            }

            Guid kept = await app.RunInStateAsync(kind, new { type = "RUNNING" });
            await app.SetStateAsync(kind, kept, new { type = "COMPLETED" });
            string? endTime = (await app.ReadAsync(kind, kept)).Str("end_time");
            await app.SetStateAsync(kind, kept, new { type = "FAILED" }, force: true);
            (await app.ReadAsync(kind, kept)).Str("end_time").Should().Be(endTime).And.NotBeNull();
        }
    }

    [Fact]
    public async Task GLB_16_17_SubflowStates_AreMirroredOntoTheParentTaskRun()
    {
        await using var app = await TestApp.StartAsync(database);
        var parentTask = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });
        Guid parentTaskId = IdOf(parentTask);
        Guid subflow = IdOf(await app.CreateFlowRunAsync(state: new { type = "RUNNING" }, extra: new { parent_task_run_id = parentTaskId }));

        var (_, result) = await app.SetFlowRunStateAsync(subflow, new { type = "FAILED", message = "sub failed", data = new { x = 1 } });
        var parent = await app.ReadAsync("task", parentTaskId);

        result!["state"]!["state_details"].Str("task_run_id").Should().Be(parentTaskId.ToString());
        parent.Str("state_type").Should().Be("FAILED");
        var mirrored = parent["state"]!;
        mirrored["state_details"].Str("child_flow_run_id").Should().Be(subflow.ToString());
        mirrored["state_details"].Str("task_run_id").Should().Be(parentTaskId.ToString());
        mirrored["state_details"].Str("flow_run_id").Should().Be(parentTask.Str("flow_run_id"));
        mirrored.Str("id").Should().NotBe(result["state"].Str("id"));
        mirrored.Str("name").Should().Be("Failed");
        mirrored.Str("message").Should().Be("sub failed");
        mirrored["data"]!.ToJsonString().Should().Be("{\"x\":1}");
        parent["end_time"].Should().NotBeNull();
    }

    [Fact]
    public async Task GLB_18_RunDetails_OverARunsLife()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.StatelessRunAsync("flow");

        await app.SetFlowRunStateAsync(id, new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(clock.UtcNow) } });
        var scheduled = await app.ReadAsync("flow", id);
        var (_, running) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });
        var started = await app.ReadAsync("flow", id);
        clock.Advance(TimeSpan.FromSeconds(5));
        var (_, again) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" }, force: true);
        clock.Advance(TimeSpan.FromSeconds(1));
        var restarted = await app.ReadAsync("flow", id);

        scheduled["start_time"].Should().BeNull();
        scheduled["run_count"]!.GetValue<int>().Should().Be(0);
        scheduled.Seconds("total_run_time").Should().Be(0);
        started.Str("start_time").Should().Be(running!["state"].Str("timestamp"));
        started["run_count"]!.GetValue<int>().Should().Be(1);
        started.Seconds("total_run_time").Should().Be(0);
        restarted.Str("start_time").Should().Be(running["state"].Str("timestamp"));
        restarted["run_count"]!.GetValue<int>().Should().Be(2);
        double elapsed = (DateTime.Parse(again!["state"].Str("timestamp")!) - DateTime.Parse(running["state"].Str("timestamp")!)).TotalSeconds;
        restarted.Seconds("total_run_time").Should().BeApproximately(elapsed, 0.001);
        restarted.Seconds("estimated_run_time").Should().BeGreaterThan(elapsed);
    }

    [Fact]
    public async Task GLB_19_21_WaitAndAbort_LeaveTheRunUntouched()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            Guid waiting = await app.RunInStateAsync(kind,
                new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMonths(1)) } });
            Guid finished = await app.RunInStateAsync(kind, new { type = "COMPLETED" });
            var beforeWait = await app.ReadAsync(kind, waiting);
            var beforeAbort = await app.ReadAsync(kind, finished);

            var (waitStatus, wait) = await app.SetStateAsync(kind, waiting, new { type = "RUNNING" });
            var (abortStatus, abort) = await app.SetStateAsync(kind, finished, new { type = "RUNNING" });

            waitStatus.Should().Be(200);
            wait.Str("status").Should().Be("WAIT");
            abortStatus.Should().Be(200);
            abort.Str("status").Should().Be("ABORT");
            Without(await app.ReadAsync(kind, waiting)).Should().Be(Without(beforeWait));
            Without(await app.ReadAsync(kind, finished)).Should().Be(Without(beforeAbort));
        }

        // Only the read-time estimates move with the clock.
        static string Without(System.Text.Json.Nodes.JsonNode run)
        {
            var copy = run.DeepClone().AsObject();
            copy.Remove("estimated_run_time");
            copy.Remove("estimated_start_time_delta");
            return copy.ToJsonString();
        }
    }

    [Fact]
    public async Task GLB_20_StateDetails_CarryTheRunsOwnIds_WhateverTheClientSent()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid bogus = Guid.NewGuid();
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "PENDING" });
        var task = await app.CreateTaskRunAsync(flowRun);

        var (_, flowResult) = await app.SetFlowRunStateAsync(flowRun, new { type = "RUNNING", state_details = new { flow_run_id = bogus, task_run_id = bogus } });
        var (_, taskResult) = await app.SetTaskRunStateAsync(IdOf(task), new { type = "RUNNING", state_details = new { flow_run_id = bogus, task_run_id = bogus } });

        flowResult!["state"].Str("name").Should().Be("Running");
        flowResult["state"]!["state_details"].Str("flow_run_id").Should().Be(flowRun.ToString());
        flowResult["state"]!["state_details"].Str("task_run_id").Should().Be(bogus.ToString(), "2.7.0 keeps a client-sent task_run_id on flow runs");
        taskResult!["state"]!["state_details"].Str("flow_run_id").Should().Be(flowRun.ToString());
        taskResult["state"]!["state_details"].Str("task_run_id").Should().Be(IdOf(task).ToString());
    }

    [Fact]
    public async Task GLB_22_Bookkeeping_FollowsTheRejectedToState()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        var task = await app.CreateTaskRunAsync(state: new { type = "RUNNING" }, extra: new { empirical_policy = new { retries = 1, retry_delay = 5 } });
        clock.Advance(TimeSpan.FromSeconds(10));

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(task), new { type = "FAILED" });
        var run = await app.ReadAsync("task", IdOf(task));

        result.Str("status").Should().Be("REJECT");
        run.Str("state_type").Should().Be("SCHEDULED");
        run.Str("state_name").Should().Be("AwaitingRetry");
        run.Str("next_scheduled_start_time").Should().Be(result!["state"]!["state_details"].Str("scheduled_time"));
        run.Seconds("total_run_time").Should().BeApproximately(10, 0.01);
        run["run_count"]!.GetValue<int>().Should().Be(1);
        run["end_time"].Should().BeNull();
    }
}

public sealed class BookkeepingTestsOnSqlite() : BookkeepingTests(DatabaseKind.Sqlite);

public sealed class BookkeepingTestsOnPostgres() : BookkeepingTests(DatabaseKind.Postgres);
