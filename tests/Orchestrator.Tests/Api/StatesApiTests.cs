using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class StatesApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_ST_01_ReadState_ByIdForTaskAndFlowRuns_OrNotFound()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync();
        var (_, taskResult) = await app.SetTaskRunStateAsync(IdOf(task), new { type = "RUNNING" });
        var flowRun = await app.CreateFlowRunAsync();

        var (taskOk, taskState) = await app.GetAsync($"/api/task_run_states/{taskResult!["state"].Str("id")}");
        var (flowOk, flowState) = await app.GetAsync($"/api/flow_run_states/{flowRun["state"].Str("id")}");
        var (taskMissing, taskMissingBody) = await app.GetAsync($"/api/task_run_states/{Guid.NewGuid()}");
        var (flowMissing, _) = await app.GetAsync($"/api/flow_run_states/{Guid.NewGuid()}");

        taskOk.Should().Be(200);
        taskState.Str("type").Should().Be("RUNNING");
        taskState.Str("id").Should().Be(taskResult["state"].Str("id"));
        flowOk.Should().Be(200);
        flowState.Str("id").Should().Be(flowRun["state"].Str("id"));
        taskMissing.Should().Be(404);
        taskMissingBody.Str("detail").Should().Be("Flow run state not found");
        flowMissing.Should().Be(404);
    }

    [Fact]
    public async Task API_ST_02_ListStates_ReturnsTheRunsHistoryOldestFirst_IncludingRejectionsAndForcedStates()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync(extra: new { empirical_policy = new { retries = 1 } });
        Guid id = IdOf(task);
        await app.SetTaskRunStateAsync(id, new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(id, new { type = "FAILED" });
        await app.SetTaskRunStateAsync(id, new { type = "CRASHED" }, force: true);
        await app.SetTaskRunStateAsync(id, new { type = "COMPLETED" });
        await app.CreateTaskRunAsync(IdOf(await app.CreateFlowRunAsync()));

        var (status, states) = await app.GetAsync($"/api/task_run_states/?task_run_id={id}");

        status.Should().Be(200);
        states!.AsArray().Select(s => $"{s.Str("type")}/{s.Str("name")}").Should().Equal(
            "PENDING/Pending", "RUNNING/Running", "SCHEDULED/AwaitingRetry", "CRASHED/Crashed");
        states.AsArray().Select(s => DateTime.Parse(s.Str("timestamp")!)).Should().BeInAscendingOrder();
    }

    [Fact]
    public async Task ListStates_ReturnsEmptyForUnknownRun_And422WithoutRunId()
    {
        await using var app = await TestApp.StartAsync(database);

        var (unknown, body) = await app.GetAsync($"/api/flow_run_states/?flow_run_id={Guid.NewGuid()}");
        var (missing, missingBody) = await app.GetAsync("/api/flow_run_states/");
        var (malformed, _) = await app.GetAsync("/api/task_run_states/?task_run_id=nope");

        unknown.Should().Be(200);
        body!.AsArray().Should().BeEmpty();
        missing.Should().Be(422);
        missingBody!["exception_detail"]![0]!["loc"]!.ToJsonString().Should().Be("[\"query\",\"flow_run_id\"]");
        malformed.Should().Be(422);
    }
}

public sealed class StatesApiTestsOnSqlite() : StatesApiTests(DatabaseKind.Sqlite);

public sealed class StatesApiTestsOnPostgres() : StatesApiTests(DatabaseKind.Postgres);
