using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class TaskRunsApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_TR_01_CreateTaskRun_Returns201WithNameAndFlowRun()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRunId = IdOf(await app.CreateFlowRunAsync());

        var (status, task) = await app.PostAsync("/api/task_runs/", new
        {
            flow_run_id = flowRunId,
            task_key = "my-task-key",
            name = "my-cool-task-run-name",
            dynamic_key = "0",
        });

        status.Should().Be(201);
        task.Str("name").Should().Be("my-cool-task-run-name");
        task.Str("flow_run_id").Should().Be(flowRunId.ToString());
        task!["state"]!["state_details"].Str("task_run_id").Should().Be(task.Str("id"));
        task["state"]!["state_details"].Str("flow_run_id").Should().Be(flowRunId.ToString());
    }

    [Fact]
    public async Task API_TR_02_CreateTaskRun_WithSameKeys_ReturnsExistingWith200()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRunId = IdOf(await app.CreateFlowRunAsync());
        var body = new { flow_run_id = flowRunId, task_key = "my-task-key", dynamic_key = "my-dynamic-key" };

        var (first, a) = await app.PostAsync("/api/task_runs/", body);
        var (second, b) = await app.PostAsync("/api/task_runs/", new { flow_run_id = flowRunId, task_key = "my-task-key", dynamic_key = "my-dynamic-key", state = new { type = "RUNNING" } });

        first.Should().Be(201);
        second.Should().Be(200);
        b.Str("id").Should().Be(a.Str("id"));
        b!["state"].Str("type").Should().Be("PENDING");
    }

    [Fact]
    public async Task API_TR_03_04_CreateTaskRun_DefaultsToPending_OrUsesGivenState()
    {
        await using var app = await TestApp.StartAsync(database);

        var pending = await app.CreateTaskRunAsync();
        var running = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });

        pending["state"].Str("type").Should().Be("PENDING");
        running["state"].Str("type").Should().Be("RUNNING");
        running["run_count"]!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task API_TR_05_CreateTaskRun_IgnoresClientTimestamp()
    {
        await using var app = await TestApp.StartAsync(database);

        var task = await app.CreateTaskRunAsync(state: new { type = "COMPLETED", timestamp = Iso(DateTime.UtcNow.AddMonths(1)) });

        DateTime.Parse(task["state"].Str("timestamp")!).ToUniversalTime().Should().BeBefore(DateTime.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task API_TR_06_ReadTaskRun_ReturnsRun_OrNotFound()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync();

        var (ok, read) = await app.GetAsync($"/api/task_runs/{IdOf(task)}");
        var (missing, body) = await app.GetAsync($"/api/task_runs/{Guid.NewGuid()}");

        ok.Should().Be(200);
        read.Str("flow_run_id").Should().Be(task.Str("flow_run_id"));
        missing.Should().Be(404);
        body.Str("detail").Should().Be("Task not found");
    }

    [Fact]
    public async Task API_TR_07_FilterTaskRuns_ByTaskFlowRunAndFlow()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        Guid flowRunId = IdOf(await app.CreateFlowRunAsync(flowId));
        var task = await app.CreateTaskRunAsync(flowRunId);

        async Task<int> Count(object body) => (await app.PostAsync("/api/task_runs/filter", body)).Body!.AsArray().Count;

        (await Count(new { })).Should().Be(1);
        (await Count(new { task_runs = new { id = new { any_ = new[] { IdOf(task) } } } })).Should().Be(1);
        (await Count(new { task_runs = new { id = new { any_ = new[] { Guid.NewGuid() } } } })).Should().Be(0);
        (await Count(new { flow_runs = new { id = new { any_ = new[] { flowRunId } } } })).Should().Be(1);
        (await Count(new { flow_runs = new { id = new { any_ = new[] { Guid.NewGuid() } } } })).Should().Be(0);
        (await Count(new { flows = new { id = new { any_ = new[] { flowId } } } })).Should().Be(1);
        (await Count(new { flows = new { id = new { any_ = new[] { Guid.NewGuid() } } } })).Should().Be(0);
        (await Count(new { task_runs = new { subflow_runs = new { exists_ = false } } })).Should().Be(1);
        (await Count(new { task_runs = new { subflow_runs = new { exists_ = true } } })).Should().Be(0);
        (await Count(new { task_runs = new { tags = new { is_null_ = true } } })).Should().Be(1);
        (await app.PostAsync("/api/task_runs/count", new { flow_runs = new { id = new { any_ = new[] { flowRunId } } } })).Body!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task API_TR_08_09_SortTaskRuns_ByEveryKey()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRunId = IdOf(await app.CreateFlowRunAsync());
        DateTime now = DateTime.UtcNow;
        await app.CreateTaskRunAsync(flowRunId, dynamicKey: "0", extra: new { name = "Task Run 1" },
            state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(now.AddMinutes(-5)) } });
        await app.CreateTaskRunAsync(flowRunId, dynamicKey: "1", extra: new { name = "Task Run 2" },
            state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(now.AddMinutes(5)) } });

        async Task<string?> First(string sort, int offset = 0) =>
            (await app.PostAsync("/api/task_runs/filter", new { sort, limit = 1, offset })).Body!.AsArray().Single().Str("name");

        (await First("EXPECTED_START_TIME_DESC")).Should().Be("Task Run 2");
        (await First("EXPECTED_START_TIME_DESC", 1)).Should().Be("Task Run 1");
        (await First("EXPECTED_START_TIME_ASC")).Should().Be("Task Run 1");
        (await First("NAME_ASC")).Should().Be("Task Run 1");
        (await First("NAME_DESC")).Should().Be("Task Run 2");
        (await First("NEXT_SCHEDULED_START_TIME_ASC")).Should().Be("Task Run 1");
        (await First("END_TIME_DESC")).Should().NotBeNull();
        (await First("ID_DESC")).Should().NotBeNull();
    }

    [Fact]
    public async Task API_TR_10_DeleteTaskRun_RemovesIt_AndUnknownIsNotFound()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync();

        var (deleted, _) = await app.DeleteAsync($"/api/task_runs/{IdOf(task)}");
        var (gone, _) = await app.GetAsync($"/api/task_runs/{IdOf(task)}");
        var (again, _) = await app.DeleteAsync($"/api/task_runs/{IdOf(task)}");

        deleted.Should().Be(204);
        gone.Should().Be(404);
        again.Should().Be(404);
    }

    [Fact]
    public async Task DeleteTaskRun_GivesBackItsConcurrencySlots()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("db", 1);
        var task = await app.CreateTaskRunAsync(extra: new { tags = new[] { "db" } });
        (await app.SetTaskRunStateAsync(IdOf(task), new { type = "RUNNING" })).Status.Should().Be(201);

        await app.DeleteAsync($"/api/task_runs/{IdOf(task)}");

        (await app.ActiveSlotsAsync("db")).Should().BeEmpty();
    }

    [Fact]
    public async Task API_TR_16_History_RefusesIntervalsBelowOneSecond()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, _) = await app.PostAsync("/api/task_runs/history", new
        {
            history_start = Iso(DateTime.UtcNow.AddHours(-1)),
            history_end = Iso(DateTime.UtcNow),
            history_interval_seconds = 0.9,
        });

        status.Should().Be(422);
    }

    [Fact]
    public async Task CreateTaskRun_Returns409ForUnknownFlowRun_And422ForMissingKeys()
    {
        await using var app = await TestApp.StartAsync(database);

        var (unknown, _) = await app.PostAsync("/api/task_runs/", new { flow_run_id = Guid.NewGuid(), task_key = "k", dynamic_key = "0" });
        var (missing, body) = await app.PostAsync("/api/task_runs/", new { flow_run_id = Guid.NewGuid() });

        unknown.Should().Be(409);
        missing.Should().Be(422);
        body!["exception_detail"]!.AsArray().Select(e => e!["loc"]![1]!.GetValue<string>()).Should().BeEquivalentTo("task_key", "dynamic_key");
    }
}

public sealed class TaskRunsApiTestsOnSqlite() : TaskRunsApiTests(DatabaseKind.Sqlite);

public sealed class TaskRunsApiTestsOnPostgres() : TaskRunsApiTests(DatabaseKind.Postgres);
