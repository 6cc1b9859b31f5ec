using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Client;

/// <summary>
/// The recording's flow, driven over real HTTP the way the Prefect client drives it, plus a subflow: a flow
/// with retries=1 that fails its first attempt; a task with retries=2 that fails twice; a task with a cache
/// key called twice; two tasks under a tag limited to 1, started together; a subflow.
/// </summary>
public abstract class PrefectClientScenarioTests(DatabaseKind database)
{
    private const string ConcurrencyWait = "Concurrency limit for the demo-limited tag has been reached";

    [Fact]
    public async Task RecordedFlowWithASubflow_EndsInTheRecordedStatesAndHistories()
    {
        var clock = new ManualClock(new DateTime(2026, 11, 22, 11, 24, 0, DateTimeKind.Utc));
        await using var app = await TestApp.StartAsync(database, clock, realHttp: true);
        app.Client.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.8.3");
        var client = new PrefectClientDriver(app, clock);
        await app.CreateLimitAsync("demo-limited", 1);
        Guid flowId = await app.CreateFlowAsync("demo-flow");
        Guid childFlowId = await app.CreateFlowAsync("child-flow");
        Guid flowRunId = Guid.Empty;
        var limitedOutcomes = new List<string>();

        var final = await client.RunFlowAsync(flowId, "amber-jaguar", retries: 1, retryDelaySeconds: 1, async (runId, attempt) =>
        {
            flowRunId = runId;
            await client.RunTaskAsync(runId, "__main__.flaky", "0", new TaskOptions(Retries: 2, RetryDelaySeconds: 2), a =>
            {
                if (a <= 2)
                {
                    throw new UserCodeFailed($"flaky failure #{a}");
                }
            });
            var cached = new TaskOptions(CacheKey: "demo-square-4");
            await client.RunTaskAsync(runId, "__main__.square", "0", cached, _ => { });
            await client.RunTaskAsync(runId, "__main__.square", "1", cached, _ => throw new UserCodeFailed("a cache hit never runs the code"));
            // Whichever limited task gets the slot keeps running until the other has been told to wait, as in
            // the recording (where the second waited 30 s).
            var limited = new TaskOptions(Tags: ["demo-limited"]);
            TaskBody holdTheSlot = _ => SpinWait.SpinUntil(() => client.WaitReasons.Contains(ConcurrencyWait), TimeSpan.FromSeconds(10));
            var both = await Task.WhenAll(
                client.RunTaskAsync(runId, "__main__.limited", "0", limited, holdTheSlot),
                client.RunTaskAsync(runId, "__main__.limited", "1", limited, holdTheSlot));
            limitedOutcomes.AddRange(both.Select(s => s.Str("type")!));
            await client.RunSubflowAsync(runId, childFlowId, "child-flow", (_, _) => Task.CompletedTask);
            if (attempt == 1)
            {
                throw new UserCodeFailed("demo_flow fails on its first attempt (retries=1)");
            }
        });

        final.Str("type").Should().Be("COMPLETED");
        (await HistoryAsync(app, "flow", flowRunId)).Should().Equal(
            "PENDING/Pending", "RUNNING/Running", "SCHEDULED/AwaitingRetry", "RUNNING/Running", "COMPLETED/Completed");
        limitedOutcomes.Should().Equal(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"], "both attempts of the flow get both results");
        client.WaitReasons.Should().Contain(ConcurrencyWait, "the second limited task waited for the first")
            .And.Contain("Scheduled time is in the future", "a retry waits for its retry delay");

        var (_, taskRuns) = await app.PostAsync("/api/task_runs/filter", new { flow_runs = new { id = new { any_ = new[] { flowRunId } } }, sort = "EXPECTED_START_TIME_ASC" });
        var byKey = taskRuns!.AsArray().ToDictionary(t => $"{t.Str("task_key")}/{t.Str("dynamic_key")}", t => t!);
        byKey.Keys.Should().BeEquivalentTo("__main__.flaky/0", "__main__.square/0", "__main__.square/1", "__main__.limited/0", "__main__.limited/1", "__main__.child-flow/0");

        // The five recorded task runs end exactly as in the recording.
        foreach (var recorded in Recording.Instance.ExampleResponse("POST /api/task_runs/filter -> 200")!.AsArray())
        {
            var ours = byKey[$"{recorded.Str("task_key")}/{recorded.Str("dynamic_key")}"];
            foreach (string field in new[] { "state_type", "state_name", "run_count", "flow_run_run_count" })
            {
                ours[field]!.ToJsonString().Should().Be(recorded![field]!.ToJsonString(), $"{recorded.Str("task_key")}/{recorded.Str("dynamic_key")} {field}");
            }
        }

        (await HistoryAsync(app, "task", IdOf(byKey["__main__.flaky/0"]))).Should().Equal(
            Recording.Instance.ExampleResponse("GET /api/task_run_states/ -> 200")!.AsArray().Select(s => $"{s.Str("type")}/{s.Str("name")}"));
        (await HistoryAsync(app, "task", IdOf(byKey["__main__.square/0"]))).Should().Equal(
            "PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed", "COMPLETED/Cached");
        (await HistoryAsync(app, "task", IdOf(byKey["__main__.square/1"]))).Should().Equal(
            "PENDING/Pending", "COMPLETED/Cached", "COMPLETED/Cached");
        foreach (string key in new[] { "__main__.limited/0", "__main__.limited/1" })
        {
            (await HistoryAsync(app, "task", IdOf(byKey[key]))).Should().Equal("PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed");
        }

        (await app.ActiveSlotsAsync("demo-limited")).Should().BeEmpty();

        // The subflow ran once; its parent task run mirrors its states.
        var subflowTask = byKey["__main__.child-flow/0"];
        var (_, children) = await app.PostAsync("/api/flow_runs/filter", new { flow_runs = new { parent_task_run_id = new { any_ = new[] { IdOf(subflowTask) } } } });
        var child = children!.AsArray().Should().ContainSingle().Subject!;
        (await HistoryAsync(app, "flow", IdOf(child))).Should().Equal("PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed");
        (await HistoryAsync(app, "task", IdOf(subflowTask))).Should().Equal(
            ["PENDING/Pending", "PENDING/Pending", "RUNNING/Running", "COMPLETED/Completed"],
            "the task run is created PENDING, then mirrors each state of the child, which is also created PENDING");
        subflowTask["state"]!["state_details"].Str("child_flow_run_id").Should().Be(child.Str("id"));
    }

    private static async Task<IEnumerable<string>> HistoryAsync(TestApp app, string kind, Guid runId)
    {
        var (status, states) = await app.GetAsync($"/api/{kind}_run_states/?{kind}_run_id={runId}");
        status.Should().Be(200);
        return states!.AsArray().Select(s => $"{s.Str("type")}/{s.Str("name")}").ToList();
    }
}

public sealed class PrefectClientScenarioTestsOnSqlite() : PrefectClientScenarioTests(DatabaseKind.Sqlite);

public sealed class PrefectClientScenarioTestsOnPostgres() : PrefectClientScenarioTests(DatabaseKind.Postgres);
