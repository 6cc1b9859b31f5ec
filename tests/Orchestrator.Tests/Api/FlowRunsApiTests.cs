using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class FlowRunsApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_FR_01_CreateFlowRun_Returns201WithGivenNameAndState()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();

        var (status, run) = await app.PostAsync("/api/flow_runs/", new
        {
            flow_id = flowId,
            name = "orange you glad i didnt say yellow salamander",
            state = new { type = "PENDING", name = "Pending" },
        });

        status.Should().Be(201);
        run.Str("flow_id").Should().Be(flowId.ToString());
        run.Str("name").Should().Be("orange you glad i didnt say yellow salamander");
        run!["state"].Str("type").Should().Be("PENDING");
        run["state_id"]!.GetValue<string>().Should().Be(run["state"].Str("id"));
        run["state"]!["state_details"].Str("flow_run_id").Should().Be(run.Str("id"));
    }

    [Fact]
    public async Task API_FR_02_CreateFlowRun_IgnoresClientTimestampOfInitialState()
    {
        await using var app = await TestApp.StartAsync(database);

        var run = await app.CreateFlowRunAsync(state: new { type = "COMPLETED", timestamp = Iso(DateTime.UtcNow.AddMonths(1)) });

        DateTime.Parse(run["state"].Str("timestamp")!).ToUniversalTime().Should().BeBefore(DateTime.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task API_FR_03_CreateFlowRun_DefaultsToPendingWithGeneratedName()
    {
        await using var app = await TestApp.StartAsync(database);

        var run = await app.CreateFlowRunAsync();

        run["state"].Str("type").Should().Be("PENDING");
        run["state"].Str("name").Should().Be("Pending");
        run.Str("name").Should().MatchRegex("^[a-z]+-[a-z]+$");
        run["expected_start_time"]!.GetValue<string>().Should().Be(run["state"].Str("timestamp"));
        run["parameters"]!.ToJsonString().Should().Be("{}");
        run["empirical_policy"]!.ToJsonString().Should().Be("{\"max_retries\":0,\"retry_delay_seconds\":0,\"retries\":null,\"retry_delay\":null}");
    }

    [Fact]
    public async Task API_FR_04_CreateFlowRun_WithoutIdempotencyKey_AlwaysCreates()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();

        var (first, a) = await app.PostAsync("/api/flow_runs/", new { flow_id = flowId });
        var (second, b) = await app.PostAsync("/api/flow_runs/", new { flow_id = flowId });

        first.Should().Be(201);
        second.Should().Be(201);
        a.Str("id").Should().NotBe(b.Str("id"));
        (await app.PostAsync("/api/flow_runs/count", new { })).Body!.GetValue<int>().Should().Be(2);
    }

    [Fact]
    public async Task API_FR_05_CreateFlowRun_WithSameIdempotencyKey_ReturnsExistingWith200()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();

        var (first, a) = await app.PostAsync("/api/flow_runs/", new { flow_id = flowId, idempotency_key = "test-key" });
        var (second, b) = await app.PostAsync("/api/flow_runs/", new { flow_id = flowId, idempotency_key = "test-key", state = new { type = "RUNNING" } });

        first.Should().Be(201);
        second.Should().Be(200);
        b.Str("id").Should().Be(a.Str("id"));
        b!["state"].Str("type").Should().Be("PENDING");
    }

    [Fact]
    public async Task API_FR_06_CreateFlowRun_SameIdempotencyKeyUnderAnotherFlow_CreatesNewRun()
    {
        await using var app = await TestApp.StartAsync(database);

        var (first, a) = await app.PostAsync("/api/flow_runs/", new { flow_id = await app.CreateFlowAsync("one"), idempotency_key = "test-key" });
        var (second, b) = await app.PostAsync("/api/flow_runs/", new { flow_id = await app.CreateFlowAsync("two"), idempotency_key = "test-key" });

        first.Should().Be(201);
        second.Should().Be(201);
        b.Str("id").Should().NotBe(a.Str("id"));
    }

    [Fact]
    public async Task API_FR_07_CreateFlowRun_StoresParentTaskRun_AndMirrorsItsStateOntoIt()
    {
        await using var app = await TestApp.StartAsync(database);
        var task = await app.CreateTaskRunAsync();

        var run = await app.CreateFlowRunAsync(extra: new { parent_task_run_id = IdOf(task) }, state: new { type = "RUNNING" });
        var parent = await app.ReadAsync("task", IdOf(task));

        run.Str("parent_task_run_id").Should().Be(IdOf(task).ToString());
        run["state"]!["state_details"].Str("task_run_id").Should().Be(IdOf(task).ToString());
        parent["state"].Str("type").Should().Be("RUNNING");
        parent["state"]!["state_details"].Str("child_flow_run_id").Should().Be(run.Str("id"));
    }

    [Fact]
    public async Task API_FR_08_CreateFlowRun_WithRunningState_CountsTheRun()
    {
        await using var app = await TestApp.StartAsync(database);

        var run = await app.CreateFlowRunAsync(state: new { type = "RUNNING" });

        run["state"].Str("type").Should().Be("RUNNING");
        run["run_count"]!.GetValue<int>().Should().Be(1);
        run.Str("start_time").Should().Be(run["state"].Str("timestamp"));
    }

    [Fact]
    public async Task API_FR_09_10_CreateFlowRun_EchoesDeploymentAndInfrastructureIds()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId });
        Guid infrastructure = Guid.NewGuid();

        var run = await app.CreateFlowRunAsync(flowId, extra: new { deployment_id = IdOf(deployment), infrastructure_document_id = infrastructure });

        run.Str("deployment_id").Should().Be(IdOf(deployment).ToString());
        run.Str("infrastructure_document_id").Should().Be(infrastructure.ToString());
    }

    [Fact]
    public async Task API_FR_11_12_13_UpdateFlowRun_WritesOnlyPresentKeys()
    {
        await using var app = await TestApp.StartAsync(database);
        var run = await app.CreateFlowRunAsync(extra: new { name = "yellow salamander", tags = new[] { "keep" } });
        Guid id = IdOf(run);

        var (patched, _) = await app.PatchAsync($"/api/flow_runs/{id}", new { flow_version = "The next one", name = "not yellow salamander" });
        var after = await app.ReadAsync("flow", id);
        var (empty, _) = await app.PatchAsync($"/api/flow_runs/{id}", new { });
        var unchanged = await app.ReadAsync("flow", id);
        var (unknown, _) = await app.PatchAsync($"/api/flow_runs/{Guid.NewGuid()}", new { });
        var (badKey, _) = await app.PatchAsync($"/api/flow_runs/{id}", new { state_type = "RUNNING" });

        patched.Should().Be(204);
        after.Str("flow_version").Should().Be("The next one");
        after.Str("name").Should().Be("not yellow salamander");
        after["tags"]!.ToJsonString().Should().Be("[\"keep\"]");
        DateTime.Parse(after.Str("updated")!).Should().BeAfter(DateTime.Parse(run.Str("updated")!));
        empty.Should().Be(204);
        unchanged.Str("name").Should().Be("not yellow salamander");
        unknown.Should().Be(404);
        badKey.Should().Be(422);
    }

    [Fact]
    public async Task API_FR_14_ReadFlowRun_ReturnsRun_OrNotFound()
    {
        await using var app = await TestApp.StartAsync(database);
        var run = await app.CreateFlowRunAsync();

        var (ok, read) = await app.GetAsync($"/api/flow_runs/{IdOf(run)}");
        var (missing, body) = await app.GetAsync($"/api/flow_runs/{Guid.NewGuid()}");

        ok.Should().Be(200);
        read.Str("flow_id").Should().Be(run.Str("flow_id"));
        missing.Should().Be(404);
        body.Str("detail").Should().Be("Flow run not found");
    }

    [Fact]
    public async Task API_FR_15_FilterFlowRuns_CombinesFlowRunTaskRunAndFlowFilters()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid f1 = await app.CreateFlowAsync("my-flow");
        Guid f2 = await app.CreateFlowAsync("another-test");
        var fr1 = await app.CreateFlowRunAsync(f1, extra: new { tags = new[] { "red" } });
        var fr2 = await app.CreateFlowRunAsync(f1, extra: new { tags = new[] { "blue" } });
        var fr3 = await app.CreateFlowRunAsync(f2, extra: new { tags = new[] { "blue", "red" } });
        var task = await app.CreateTaskRunAsync(IdOf(fr2));

        async Task<List<string?>> Ids(object body) =>
            (await app.PostAsync("/api/flow_runs/filter", body)).Body!.AsArray().Select(r => r.Str("id")).ToList();

        (await app.PostAsync("/api/flow_runs/filter")).Body!.AsArray().Should().HaveCount(3);
        (await Ids(new { flows = new { id = new { any_ = new[] { f1 } } } })).Should().BeEquivalentTo([fr1.Str("id"), fr2.Str("id")]);
        (await Ids(new { flow_runs = new { id = new { any_ = new[] { IdOf(fr1) } } } })).Should().Equal(fr1.Str("id"));
        (await Ids(new { task_runs = new { id = new { any_ = new[] { IdOf(task) } } } })).Should().Equal(fr2.Str("id"));
        (await Ids(new
        {
            flow_runs = new { tags = new { all_ = new[] { "blue" } } },
            flows = new { name = new { any_ = new[] { "another-test" } } },
            limit = 1,
        })).Should().Equal(fr3.Str("id"));
        (await Ids(new { flow_runs = new { tags = new { all_ = new[] { "blue", "red" } } } })).Should().Equal(fr3.Str("id"));
        (await Ids(new { flow_runs = new { id = new { not_any_ = new[] { IdOf(fr1), IdOf(fr2) } } } })).Should().Equal(fr3.Str("id"));
        (await Ids(new { flow_runs = new { state = new { type = new { any_ = new[] { "PENDING" } } } } })).Should().HaveCount(3);
        (await Ids(new { flow_runs = new { state = new { name = new { any_ = new[] { "Running" } } } } })).Should().BeEmpty();
        (await Ids(new { limit = 1 })).Should().HaveCount(1);
        (await app.PostAsync("/api/flow_runs/count", new { flows = new { id = new { any_ = new[] { f2 } } } })).Body!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task API_FR_15_FilterFlowRuns_ReturnsEmptyList_OnEmptyDatabase()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await app.PostAsync("/api/flow_runs/filter", new { });

        status.Should().Be(200);
        body!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task FilterFlowRuns_CombinesCriteriaWithOr_WhenOperatorIsOr()
    {
        await using var app = await TestApp.StartAsync(database);
        var red = await app.CreateFlowRunAsync(extra: new { tags = new[] { "red" }, name = "a" });
        await app.CreateFlowRunAsync(extra: new { tags = new[] { "blue" }, name = "b" });
        var named = await app.CreateFlowRunAsync(extra: new { name = "c" });

        var (_, body) = await app.PostAsync("/api/flow_runs/filter", new
        {
            flow_runs = new { @operator = "or_", tags = new { all_ = new[] { "red" } }, name = new { any_ = new[] { "c" } } },
            sort = "NAME_ASC",
        });

        body!.AsArray().Select(r => r.Str("id")).Should().Equal(red.Str("id"), named.Str("id"));
    }

    [Fact]
    public async Task API_FR_16_17_SortFlowRuns_ByEveryKey()
    {
        await using var app = await TestApp.StartAsync(database);
        DateTime now = DateTime.UtcNow;
        var run1 = await app.CreateFlowRunAsync(extra: new { name = "Flow Run 1" },
            state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(now.AddMinutes(-10)) } });
        var run2 = await app.CreateFlowRunAsync(extra: new { name = "Flow Run 2" },
            state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(now.AddMinutes(-5)) } });
        (await app.SetFlowRunStateAsync(IdOf(run2), new { type = "RUNNING" })).Status.Should().Be(201);

        async Task<string?> First(string sort, int offset = 0) =>
            (await app.PostAsync("/api/flow_runs/filter", new { sort, limit = 1, offset })).Body!.AsArray().Single().Str("name");

        (await First("START_TIME_ASC")).Should().Be("Flow Run 1");
        (await First("START_TIME_DESC")).Should().Be("Flow Run 2");
        (await First("EXPECTED_START_TIME_ASC")).Should().Be("Flow Run 1");
        (await First("EXPECTED_START_TIME_ASC", 1)).Should().Be("Flow Run 2");
        (await First("EXPECTED_START_TIME_DESC")).Should().Be("Flow Run 2");
        (await First("EXPECTED_START_TIME_DESC", 1)).Should().Be("Flow Run 1");
        (await First("NAME_ASC")).Should().Be("Flow Run 1");
        (await First("NAME_DESC")).Should().Be("Flow Run 2");
        (await First("NEXT_SCHEDULED_START_TIME_ASC")).Should().Be("Flow Run 1");
        (await First("END_TIME_DESC")).Should().NotBeNull();
        (await First("ID_DESC")).Should().NotBeNull();
    }

    [Fact]
    public async Task API_FR_18_ReadGraph_ListsTaskRunsWithUpstreamDependencies()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid runId = IdOf(await app.CreateFlowRunAsync());
        Guid? previous = null;
        for (int i = 0; i < 10; i++)
        {
            object inputs = previous is null
                ? new { }
                : new { x = new[] { new { input_type = "task_run", id = previous } }, y = new[] { new { input_type = "task_run", id = previous } } };
            previous = IdOf(await app.CreateTaskRunAsync(runId, extra: new { task_inputs = inputs }, dynamicKey: i.ToString()));
        }

        var (status, graph) = await app.GetAsync($"/api/flow_runs/{runId}/graph");
        var (missing, missingBody) = await app.GetAsync($"/api/flow_runs/{Guid.NewGuid()}/graph");

        status.Should().Be(200);
        graph!.AsArray().Should().HaveCount(10);
        graph.AsArray().Count(n => n!["upstream_dependencies"]!.AsArray().Count == 1).Should().Be(9);
        graph[0]!["untrackable_result"]!.GetValue<bool>().Should().BeFalse();
        missing.Should().Be(404);
        missingBody.Str("exception_message").Should().StartWith("Flow run with id");
    }

    [Fact]
    public async Task API_FR_19_DeleteFlowRun_RemovesItWithTaskRuns()
    {
        await using var app = await TestApp.StartAsync(database);
        var run = await app.CreateFlowRunAsync();
        var task = await app.CreateTaskRunAsync(IdOf(run));
        var subflow = await app.CreateFlowRunAsync(extra: new { parent_task_run_id = IdOf(task) });

        var (deleted, _) = await app.DeleteAsync($"/api/flow_runs/{IdOf(run)}");
        var (gone, _) = await app.GetAsync($"/api/flow_runs/{IdOf(run)}");
        var (taskGone, _) = await app.GetAsync($"/api/task_runs/{IdOf(task)}");
        var orphan = await app.ReadAsync("flow", IdOf(subflow));
        var (again, _) = await app.DeleteAsync($"/api/flow_runs/{IdOf(run)}");

        deleted.Should().Be(204);
        gone.Should().Be(404);
        taskGone.Should().Be(404);
        orphan["parent_task_run_id"].Should().BeNull();
        again.Should().Be(404);
    }

    [Fact]
    public async Task API_FR_30_History_RefusesIntervalsBelowOneSecond()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await app.PostAsync("/api/flow_runs/history", new
        {
            history_start = Iso(DateTime.UtcNow.AddHours(-1)),
            history_end = Iso(DateTime.UtcNow),
            history_interval_seconds = 0.9,
        });

        status.Should().Be(422);
        body.Str("detail").Should().Contain("History interval must not be less than 1 second");
    }

    [Fact]
    public async Task API_FR_33_CreateFlowRun_Returns409_ForUnknownFlowOrParent()
    {
        await using var app = await TestApp.StartAsync(database);

        var (unknownFlow, body) = await app.PostAsync("/api/flow_runs/", new { flow_id = Guid.NewGuid() });
        var (unknownParent, _) = await app.PostAsync("/api/flow_runs/", new { flow_id = await app.CreateFlowAsync(), parent_task_run_id = Guid.NewGuid() });

        unknownFlow.Should().Be(409);
        body.Str("detail").Should().StartWith("Data integrity conflict.");
        unknownParent.Should().Be(409);
        (await app.PostAsync("/api/flow_runs/count", new { })).Body!.GetValue<int>().Should().Be(0);
    }

    [Fact]
    public async Task CreateFlowRun_Returns422_ForMissingFlowIdOrNullCollections()
    {
        await using var app = await TestApp.StartAsync(database);

        var (missing, body) = await app.PostAsync("/api/flow_runs/", new { name = "x" });
        var (nullTags, _) = await app.PostRawAsync("/api/flow_runs/", $"{{\"flow_id\": \"{Guid.NewGuid()}\", \"tags\": null}}");
        var (badState, _) = await app.PostAsync("/api/flow_runs/", new { flow_id = Guid.NewGuid(), state = new { type = "running" } });
        var (extraInState, _) = await app.PostAsync("/api/flow_runs/", new { flow_id = Guid.NewGuid(), state = new { type = "RUNNING", colour = 1 } });

        missing.Should().Be(422);
        body!["exception_detail"]![0]!["loc"]!.ToJsonString().Should().Be("[\"body\",\"flow_id\"]");
        nullTags.Should().Be(422);
        badState.Should().Be(422);
        extraInState.Should().Be(422);
    }

    [Fact]
    public async Task CreateFlowRun_MapsLegacyRetryFields_AndKeepsParametersVerbatim()
    {
        await using var app = await TestApp.StartAsync(database);

        var run = await app.CreateFlowRunAsync(extra: new
        {
            empirical_policy = new { max_retries = 3, retry_delay_seconds = 5, retries = 0, extra_key = true },
            parameters = new { nested = new { list = new object[] { 1, "two", 3.5, null! } } },
        });

        run["empirical_policy"]!["retries"]!.GetValue<int>().Should().Be(3);
        run["empirical_policy"]!["retry_delay"]!.GetValue<int>().Should().Be(5);
        JsonNode.DeepEquals(run["parameters"], JsonNode.Parse("{\"nested\":{\"list\":[1,\"two\",3.5,null]}}")).Should().BeTrue();
    }
}

public sealed class FlowRunsApiTestsOnSqlite() : FlowRunsApiTests(DatabaseKind.Sqlite);

public sealed class FlowRunsApiTestsOnPostgres() : FlowRunsApiTests(DatabaseKind.Postgres);
