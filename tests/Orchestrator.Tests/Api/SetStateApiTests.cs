using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>The set_state endpoints of flow runs and task runs (API-FR-20..32, API-TR-11..17).</summary>
public abstract class SetStateApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_FR_20_TR_11_FirstProposal_OnARunWithoutState_IsAccepted()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Scenarios.Kinds)
        {
            Guid id = await app.StatelessRunAsync(kind);

            var (status, result) = await app.SetStateAsync(kind, id, new { type = "RUNNING", name = "Test State" });
            var run = await app.ReadAsync(kind, id);

            status.Should().Be(201);
            result.Str("status").Should().Be("ACCEPT");
            result!["details"].Str("type").Should().Be("accept_details");
            run["state"].Str("type").Should().Be("RUNNING");
            run["state"].Str("name").Should().Be("Test State");
            run["run_count"]!.GetValue<int>().Should().Be(1);
        }
    }

    [Fact]
    public async Task API_FR_21_FirstProposalAccepted_ThenPendingIsAborted()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string first in new[] { "PENDING", "RUNNING" })
        {
            Guid id = await app.StatelessRunAsync("flow");

            (await app.SetFlowRunStateAsync(id, new { type = first })).Status.Should().Be(201);
            var (status, result) = await app.SetFlowRunStateAsync(id, new { type = "PENDING" });

            status.Should().Be(200);
            result.Str("status").Should().Be("ABORT");
            result!["state"].Should().BeNull();
            result["details"].Str("type").Should().Be("abort_details");
        }
    }

    [Fact]
    public async Task API_FR_22_ClientTimestamp_IsIgnored_AndIdIsServerMade()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid clientId = Guid.NewGuid();
        foreach (string kind in Scenarios.Kinds)
        {
            Guid id = await app.RunInStateAsync(kind, new { type = "PENDING" });

            var (_, result) = await app.SetStateAsync(kind, id, new { type = "RUNNING", id = clientId, timestamp = Iso(DateTime.UtcNow.AddMonths(1)) });

            DateTime.Parse(result!["state"].Str("timestamp")!).ToUniversalTime().Should().BeBefore(DateTime.UtcNow.AddSeconds(1));
            result["state"].Str("id").Should().NotBe(clientId.ToString());
            result["state"].Str("timestamp").Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$");
        }
    }

    [Fact]
    public async Task API_FR_23_Force_SkipsOrchestration()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.StatelessRunAsync("flow");

        var (scheduled, _) = await app.SetFlowRunStateAsync(id, new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMonths(1)) } });
        var (waited, wait) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });
        var (forced, accept) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" }, force: true);

        scheduled.Should().Be(201);
        waited.Should().Be(200);
        wait.Str("status").Should().Be("WAIT");
        forced.Should().Be(201);
        accept.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task API_FR_24_StateData_IsStoredAndReturnedVerbatim()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string data in new[] { "1", "\"test\"", "{\"foo\":\"bar\"}", "[1,2.5,{\"deep\":[null,true]}]" })
        {
            Guid id = await app.RunInStateAsync("flow", new { type = "RUNNING" });

            var (status, result) = await app.PostRawAsync($"/api/flow_runs/{id}/set_state", $"{{\"state\": {{\"type\": \"COMPLETED\", \"data\": {data}}}}}");
            var (_, stored) = await app.GetAsync($"/api/flow_run_states/{result!["state"].Str("id")}");

            status.Should().Be(201);
            result.Str("status").Should().Be("ACCEPT");
            stored!["data"]!.ToJsonString().Should().Be(data);
        }
    }

    [Fact]
    public async Task API_FR_25_26_27_28_29_ManualRetry_ThroughTheApi()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        Guid deploymentId = IdOf((await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId })).Body);

        async Task<Guid> Failed(bool deployment, int runCount, int? retries = null)
        {
            var run = await app.CreateFlowRunAsync(flowId, state: new { type = "FAILED" },
                extra: new { deployment_id = deployment ? deploymentId : (Guid?)null, empirical_policy = new { retries } });
            await app.UpdateFlowRunAsync(IdOf(run), r => r.RunCount = runCount);
            return IdOf(run);
        }

        Guid restart = await Failed(true, 1);
        Guid restartWithRetries = await Failed(true, 3, retries: 2);
        Guid wrongName = await Failed(true, 1);
        Guid wrongType = await Failed(true, 1);
        Guid noDeployment = await Failed(false, 1);

        (await app.SetFlowRunStateAsync(restart, new { type = "SCHEDULED", name = "AwaitingRetry" })).Status.Should().Be(201);
        (await app.SetFlowRunStateAsync(restartWithRetries, new { type = "SCHEDULED", name = "AwaitingRetry" })).Status.Should().Be(201);
        var (wrongNameStatus, _) = await app.SetFlowRunStateAsync(wrongName, new { type = "SCHEDULED", name = "NotAwaitingRetry" });
        var (wrongTypeStatus, _) = await app.SetFlowRunStateAsync(wrongType, new { type = "RUNNING", name = "AwaitingRetry" });
        var (noDeploymentStatus, _) = await app.SetFlowRunStateAsync(noDeployment, new { type = "RUNNING", name = "AwaitingRetry" });

        (await app.ReadAsync("flow", restart)).Str("state_type").Should().Be("SCHEDULED");
        (await app.ReadAsync("flow", restart))["run_count"]!.GetValue<int>().Should().Be(1);
        (await app.ReadAsync("flow", restartWithRetries))["run_count"]!.GetValue<int>().Should().Be(3);
        wrongNameStatus.Should().Be(200);
        wrongTypeStatus.Should().Be(200);
        noDeploymentStatus.Should().Be(200);
        (await app.ReadAsync("flow", wrongName)).Str("state_type").Should().Be("FAILED");
        (await app.ReadAsync("flow", wrongType)).Str("state_type").Should().Be("FAILED");
        (await app.ReadAsync("flow", noDeployment)).Str("state_type").Should().Be("FAILED");
        (await app.ReadAsync("flow", noDeployment))["run_count"]!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task API_FR_31_BadRequests_Answer404Or422()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.RunInStateAsync("flow", new { type = "PENDING" });
        Guid unknown = Guid.NewGuid();

        var (notFound, notFoundBody) = await app.SetFlowRunStateAsync(unknown, new { type = "RUNNING" });
        var (taskNotFound, taskNotFoundBody) = await app.SetTaskRunStateAsync(unknown, new { type = "RUNNING" });
        var (missing, _) = await app.PostAsync($"/api/flow_runs/{id}/set_state", new { force = true });
        var (nullState, _) = await app.PostRawAsync($"/api/flow_runs/{id}/set_state", "{\"state\": null}");
        var (extraKey, _) = await app.PostAsync($"/api/flow_runs/{id}/set_state", new { state = new { type = "RUNNING", colour = "red" } });
        var (lowercase, _) = await app.PostAsync($"/api/flow_runs/{id}/set_state", new { state = new { type = "running" } });
        var (missingType, missingTypeBody) = await app.PostAsync($"/api/flow_runs/{id}/set_state", new { state = new { name = "x" } });
        var (ignoredTopLevel, _) = await app.PostAsync($"/api/flow_runs/{id}/set_state", new { state = new { type = "RUNNING" }, force = (bool?)null, extra = 1 });

        notFound.Should().Be(404);
        notFoundBody.Str("exception_message").Should().Be($"Flow run with id {unknown} not found");
        taskNotFound.Should().Be(404);
        taskNotFoundBody.Str("exception_message").Should().Be($"Task run with id {unknown} not found");
        missing.Should().Be(422);
        nullState.Should().Be(422);
        extraKey.Should().Be(422);
        lowercase.Should().Be(422);
        missingType.Should().Be(422);
        missingTypeBody!["exception_detail"]![0]!["loc"]!.ToJsonString().Should().Be("[\"body\",\"state\",\"type\"]");
        ignoredTopLevel.Should().Be(201);
    }

    [Fact]
    public async Task API_FR_32_StatusCodes_FollowTheOutcome()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid retried = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });

        var (rejectStatus, reject) = await app.SetFlowRunStateAsync(retried, new { type = "FAILED" });
        var (abortStatus, abort) = await app.SetFlowRunStateAsync(retried, new { type = "SCHEDULED" });

        rejectStatus.Should().Be(201);
        reject.Str("status").Should().Be("REJECT");
        reject!["state"].Str("name").Should().Be("AwaitingRetry");
        reject["details"].Str("type").Should().Be("reject_details");
        abortStatus.Should().Be(200);
        abort.Str("status").Should().Be("ABORT");
        abort!["state"].Should().BeNull();
    }

    [Fact]
    public async Task API_TR_13_14_FailedTaskWithRetries_IsRejected_UnlessForced()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid retried = await app.RunInStateAsync("task", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid forced = await app.RunInStateAsync("task", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });

        var (status, result) = await app.SetTaskRunStateAsync(retried, new { type = "FAILED" });
        var (forcedStatus, forcedResult) = await app.SetTaskRunStateAsync(forced, new { type = "FAILED" }, force: true);

        status.Should().Be(201);
        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("name").Should().Be("AwaitingRetry");
        result["state"].Str("type").Should().Be("SCHEDULED");
        forcedStatus.Should().Be(201);
        forcedResult.Str("status").Should().Be("ACCEPT");
        forcedResult!["state"].Str("type").Should().Be("FAILED");
    }

    [Fact]
    public async Task API_TR_15_TaskRunOfADeletedFlowRun_Is404()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync();
        await app.DeleteAsync($"/api/flow_runs/{task.Str("flow_run_id")}");

        var (status, _) = await app.SetTaskRunStateAsync(IdOf(task), new { type = "RUNNING" });

        status.Should().Be(404);
    }

    [Fact]
    public async Task SetState_AbortsAndKeepsNothingOfTheTransition_WhenItsStateCannotBeWritten()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await app.CreateLimitAsync("db", 1);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" }, new { tags = new[] { "db" } });
        var before = await app.TaskRunAsync(task);
        // Occupy the (run, timestamp) key the next state will need, so the transition's write fails.
        await app.WithDbAsync(async db =>
        {
            DateTime next = before.StateTimestamp!.Value.AddTicks(10);
            db.TaskRunStates.Add(TaskRunState.From(Scenarios.Proposal(StateType.Paused) with { Id = Guid.NewGuid(), Timestamp = next }, task, next));
            await db.SaveChangesAsync();
        });

        var (status, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        var after = await app.TaskRunAsync(task);

        status.Should().Be(200);
        result.Str("status").Should().Be("ABORT");
        result!["state"].Should().BeNull();
        result["details"].Str("reason").Should().Be(RunStateChanger.WriteFailedReason);
        // Neither the state, nor the bookkeeping, nor the slot the rules took in the same transition is kept.
        after.StateId.Should().Be(before.StateId);
        after.StateType.Should().Be(StateType.Pending);
        after.RunCount.Should().Be(0);
        after.StartTime.Should().BeNull();
        (await app.ActiveSlotsAsync("db")).Should().BeEmpty();
        (await app.WithDbAsync(db => db.TaskRunStates.CountAsync(s => s.TaskRunId == task))).Should().Be(2);

        // The request's context was left clean: the next proposal is decided as usual.
        await app.WithDbAsync(async db => await db.TaskRunStates.Where(s => s.Type == StateType.Paused).ExecuteDeleteAsync());
        var (_, retried) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        retried.Str("status").Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("db")).Should().Equal(task);
    }

    [Fact]
    public async Task ExceptionInARule_Answers500AndPersistsNothing()
    {
        await using var app = await TestApp.StartAsync(database);
        // A SCHEDULED state stored without a scheduled time makes WaitForScheduledTime throw, as in 2.7.0.
        Guid task = await app.RunInStateAsync("task", new { type = "SCHEDULED" });
        await app.WithDbAsync(async db =>
        {
            var row = await db.TaskRunStates.SingleAsync(s => s.TaskRunId == task);
            row.StateDetails = row.StateDetails with { ScheduledTime = null };
            await db.SaveChangesAsync();
        });

        var (status, body) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        var run = await app.TaskRunAsync(task);

        status.Should().Be(500);
        body.Str("exception_message").Should().Be("Internal Server Error");
        run.StateType.Should().Be(StateType.Scheduled);
        run.RunCount.Should().Be(0);
    }

    [Fact]
    public async Task RulesEndpoint_ListsTheCorePolicyRulesForATransition()
    {
        await using var app = await TestApp.StartAsync(database);

        var (_, task) = await app.GetAsync("/api/orchestration/task/rules?from=RUNNING&to=FAILED");
        var (_, fresh) = await app.GetAsync("/api/orchestration/flow/rules?to=RUNNING");
        var (badType, _) = await app.GetAsync("/api/orchestration/task/rules?from=NOPE&to=RUNNING");
        var (badKind, _) = await app.GetAsync("/api/orchestration/deployment/rules?to=RUNNING");

        task!["rules"]!.AsArray().Select(r => r!.GetValue<string>()).Should().Equal("PreventDuplicateTransitions", "RetryFailedTasks", "ReleaseTaskConcurrencySlots");
        fresh!["from"].Should().BeNull();
        fresh["rules"]!.AsArray().Select(r => r!.GetValue<string>()).Should().Equal("PreventDuplicateTransitions", "PreventRedundantTransitions");
        badType.Should().Be(422);
        badKind.Should().Be(404);
    }
}

public sealed class SetStateApiTestsOnSqlite() : SetStateApiTests(DatabaseKind.Sqlite);

public sealed class SetStateApiTestsOnPostgres() : SetStateApiTests(DatabaseKind.Postgres);
