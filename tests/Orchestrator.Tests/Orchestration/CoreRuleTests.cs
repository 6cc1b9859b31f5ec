using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration;

/// <summary>The core rules (test-scenarios.md D), through the API or, for "the rule alone", the procedure.</summary>
public abstract class CoreRuleTests(DatabaseKind database)
{
    private static object Scheduled(DateTime at, string? name = null) =>
        name is null
            ? new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(at) } }
            : new { type = "SCHEDULED", name, state_details = new { scheduled_time = Iso(at) } };

    // WaitForScheduledTime

    [Fact]
    public async Task WFS_01_02_ScheduledRun_WaitsUntilItsTime()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Kinds)
        {
            Guid past = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(-5)));
            Guid future = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(5)));

            var (acceptStatus, accepted) = await app.SetStateAsync(kind, past, new { type = "RUNNING" });
            var (waitStatus, waited) = await app.SetStateAsync(kind, future, new { type = "RUNNING" });

            acceptStatus.Should().Be(201);
            accepted.Str("status").Should().Be("ACCEPT");
            accepted!["state"].Str("type").Should().Be("RUNNING");
            waitStatus.Should().Be(200);
            waited.Str("status").Should().Be("WAIT");
            waited!["state"].Should().BeNull();
            waited["details"]!["delay_seconds"]!.GetValue<int>().Should().BeInRange(298, 300);
            waited["details"].Str("reason").Should().Be("Scheduled time is in the future");
            waited["details"].Str("type").Should().Be("wait_details");
        }
    }

    [Fact]
    public void WFS_03_PendingToRunning_DoesNotCompileTheWaitRule()
    {
        Orchestrator.Orchestration.Policies.CoreFlowPolicy.Instance.CompileTransitionRules(StateType.Pending, StateType.Running)
            .Select(r => r.Name).Should().NotContain(nameof(WaitForScheduledTime));
    }

    [Fact]
    public async Task WFS_04_FutureScheduledRun_WaitsForEveryTarget_UnlessForced()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Kinds)
        {
            foreach (string target in new[] { "PENDING", "CANCELLED", "FAILED", "CRASHED", "COMPLETED", "PAUSED" })
            {
                Guid id = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(5)));
                (await app.SetStateAsync(kind, id, new { type = target })).Body.Str("status").Should().Be("WAIT", $"{kind} -> {target}");
                (await app.SetStateAsync(kind, id, new { type = target }, force: true)).Body.Str("status").Should().Be("ACCEPT");
            }
        }
    }

    [Fact]
    public async Task WFS_05_LessThanAWholeSecondEarly_IsAccepted()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("task", Scheduled(clock.UtcNow.AddSeconds(0.5)));

        (await app.SetTaskRunStateAsync(id, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task WFS_06_FutureScheduledToScheduled_IsAbortedAsRedundant()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.RunInStateAsync("flow", Scheduled(DateTime.UtcNow.AddMinutes(5)));

        (await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow.AddMinutes(10)))).Body.Str("status").Should().Be("ABORT");
    }

    // CacheRetrieval / CacheInsertion

    private static async Task<Guid> CompleteWithKeyAsync(TestApp app, string key, DateTime? expiration, object? data = null)
    {
        var task = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });
        var (_, result) = await app.SetTaskRunStateAsync(IdOf(task), new
        {
            type = "COMPLETED",
            data = data ?? new { result = "cached!" },
            state_details = new { cache_key = key, cache_expiration = expiration is { } e ? Iso(e) : null },
        });
        result.Str("status").Should().Be("ACCEPT");
        return Guid.Parse(result!["state"].Str("id")!);
    }

    [Fact]
    public async Task CACHE_01_ExpiredEntry_IsIgnored()
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "cache-hit", DateTime.UtcNow.AddDays(-1));
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "cache-hit" } });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be("Running");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CACHE_02_03_LiveEntry_IsReturnedAsCached(bool withExpiration)
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "cache-hit", withExpiration ? DateTime.UtcNow.AddDays(1) : null);
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "cache-hit" } });

        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("type").Should().Be("COMPLETED");
        result["state"].Str("name").Should().Be("Cached");
    }

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
    public async Task CACHE_06_CacheHit_WritesANewCachedStateForTheRequestingRun()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid cachedId = await CompleteWithKeyAsync(app, "key", null, new { answer = 42 });
        var other = await app.CreateTaskRunAsync();

        var (status, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });
        var run = await app.ReadAsync("task", IdOf(other));
        var (_, history) = await app.GetAsync($"/api/task_run_states/?task_run_id={IdOf(other)}");

        status.Should().Be(201);
        result!["details"].Str("reason").Should().Be("Retrieved state from cache");
        result["state"].Str("id").Should().NotBe(cachedId.ToString());
        result["state"]!["state_details"].Str("task_run_id").Should().Be(IdOf(other).ToString());
        result["state"]!["state_details"].Str("cache_key").Should().Be("key");
        result["state"]!["data"]!.ToJsonString().Should().Be("{\"answer\":42}");
        run["run_count"]!.GetValue<int>().Should().Be(0);
        run["start_time"].Should().BeNull();
        run["end_time"].Should().BeNull();
        history!.AsArray().Select(s => s.Str("name")).Should().Equal("Pending", "Cached");
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

    [Fact]
    public async Task CACHE_08_CacheHit_WinsOverTerminalProtection()
    {
        await using var app = await TestApp.StartAsync(database);
        await CompleteWithKeyAsync(app, "key", null);
        Guid failed = await app.RunInStateAsync("task", new { type = "FAILED" });

        var (_, result) = await app.SetTaskRunStateAsync(failed, new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("name").Should().Be("Cached");
    }

    [Fact]
    public async Task CACHE_09_NewestEntryPointingAtADeletedState_MissesEvenWithOlderValidEntries()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await CompleteWithKeyAsync(app, "key", null);
        clock.Advance(TimeSpan.FromSeconds(1));
        var newer = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(IdOf(newer), new { type = "COMPLETED", state_details = new { cache_key = "key" } });
        await app.DeleteAsync($"/api/task_runs/{IdOf(newer)}");
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be("Running");
    }

    [Fact]
    public async Task CACHE_10_TwoEntries_TheNewestIsReturned()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await CompleteWithKeyAsync(app, "key", null, new { v = "old" });
        clock.Advance(TimeSpan.FromSeconds(1));
        await CompleteWithKeyAsync(app, "key", null, new { v = "new" });
        var other = await app.CreateTaskRunAsync();

        var (_, result) = await app.SetTaskRunStateAsync(IdOf(other), new { type = "RUNNING", state_details = new { cache_key = "key" } });

        result!["state"]!["data"]!.ToJsonString().Should().Be("{\"v\":\"new\"}");
    }

    // RetryFailedFlows

    [Fact]
    public async Task FRETRY_01_02_FailedFlow_IsRetriedWhileRunCountIsWithinRetries()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid retried = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid exhausted = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        await app.UpdateFlowRunAsync(exhausted, r => r.RunCount = 2);

        var (status, result) = await app.SetFlowRunStateAsync(retried, new { type = "FAILED" });
        var (_, accepted) = await app.SetFlowRunStateAsync(exhausted, new { type = "FAILED" });

        status.Should().Be(201);
        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("type").Should().Be("SCHEDULED");
        result["state"].Str("name").Should().Be("AwaitingRetry");
        accepted.Str("status").Should().Be("ACCEPT");
        accepted!["state"].Str("type").Should().Be("FAILED");
    }

    [Fact]
    public async Task FRETRY_03_Retry_UsesTheDelayAndKeepsTheFailuresMessageAndData()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1, retry_delay = 10 } });
        Guid noRetries = await app.RunInStateAsync("flow", new { type = "RUNNING" });

        var (_, result) = await app.SetFlowRunStateAsync(id, new { type = "FAILED", message = "it broke", data = new { error = "x" } });
        var (_, plain) = await app.SetFlowRunStateAsync(noRetries, new { type = "FAILED" });

        result!["details"].Str("reason").Should().Be("Retrying");
        result["state"].Str("message").Should().Be("it broke");
        result["state"]!["data"]!.ToJsonString().Should().Be("{\"error\":\"x\"}");
        DateTime scheduled = DateTime.Parse(result["state"]!["state_details"].Str("scheduled_time")!).ToUniversalTime();
        scheduled.Should().BeCloseTo(clock.UtcNow.AddSeconds(10), TimeSpan.FromMilliseconds(1));
        plain.Str("status").Should().Be("ACCEPT");
    }

    [Theory]
    [InlineData("0.8.2", true)]
    [InlineData("0.8.3", false)]
    [InlineData(null, false)]
    public async Task FRETRY_04_LegacyClients_GetTheirFailedTaskRunsRescheduled(string? version, bool legacy)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid failed1 = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }, taskKey: "a"));
        Guid failed2 = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }, taskKey: "b"));
        Guid completed = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "COMPLETED" }, taskKey: "c"));
        foreach (Guid id in new[] { failed1, failed2 })
        {
            await app.UpdateTaskRunAsync(id, r => r.RunCount = 3);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/flow_runs/{flowRun}/set_state")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { state = new { type = "FAILED" } }),
        };
        if (version is not null)
        {
            request.Headers.Add("X-PREFECT-API-VERSION", version);
        }

        using var response = await app.Client.SendAsync(request);
        var one = await app.ReadAsync("task", failed1);
        var two = await app.ReadAsync("task", failed2);
        var done = await app.ReadAsync("task", completed);

        ((int)response.StatusCode).Should().Be(201);
        if (legacy)
        {
            one.Str("state_name").Should().Be("AwaitingRetry");
            two.Str("state_name").Should().Be("AwaitingRetry");
            one["state"]!["state_details"].Str("scheduled_time").Should().Be(two["state"]!["state_details"].Str("scheduled_time"));
            one["run_count"]!.GetValue<int>().Should().Be(0);
            two["run_count"]!.GetValue<int>().Should().Be(0);
        }
        else
        {
            one.Str("state_type").Should().Be("FAILED");
            one["run_count"]!.GetValue<int>().Should().Be(3);
        }

        done.Str("state_type").Should().Be("COMPLETED");
    }

    [Fact]
    public async Task FRETRY_05_FullRetryCycle_WaitsThenRunsAgainWithoutRenaming()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1, retry_delay = 30 } });

        var (_, rejected) = await app.SetFlowRunStateAsync(id, new { type = "FAILED" });
        var (_, early) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromSeconds(31));
        var (_, rerun) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });

        rejected.Str("status").Should().Be("REJECT");
        early.Str("status").Should().Be("WAIT");
        rerun.Str("status").Should().Be("ACCEPT");
        rerun!["state"].Str("name").Should().Be("Running");
        (await app.ReadAsync("flow", id))["run_count"]!.GetValue<int>().Should().Be(2);
    }

    // HandleFlowTerminalStateTransitions: manual restarts

    private async Task<Guid> FailedFlowRunAsync(TestApp app, bool withDeployment, int runCount, int? retries = null)
    {
        Guid flowId = await app.CreateFlowAsync($"flow-{Guid.NewGuid():N}");
        Guid? deploymentId = withDeployment
            ? IdOf((await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId })).Body)
            : null;
        var run = await app.CreateFlowRunAsync(flowId, state: new { type = "FAILED" },
            extra: new { deployment_id = deploymentId, empirical_policy = new { retries } });
        await app.UpdateFlowRunAsync(IdOf(run), r => r.RunCount = runCount);
        return IdOf(run);
    }

    [Fact]
    public async Task MANUAL_01_RestartWithAnotherName_IsAborted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: true, runCount: 2);

        var (status, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "NotAwaitingRetry"));

        status.Should().Be(200);
        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("This run has already terminated.");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(2);
    }

    [Fact]
    public async Task MANUAL_02_RestartWithoutDeployment_IsAborted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: false, runCount: 2);

        var (_, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "AwaitingRetry"));

        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("Cannot restart a run without an associated deployment.");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(2);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(10, 3)]
    public async Task MANUAL_03_04_RestartWithDeployment_IsAcceptedAndKeepsRunCount(int retries, int runCount)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: true, runCount: runCount, retries: retries);

        var (status, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "AwaitingRetry"));

        status.Should().Be(201);
        result.Str("status").Should().Be("ACCEPT");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(runCount);
    }

    [Fact]
    public async Task MANUAL_05_AnyTerminalRunWithDeployment_CanBeRestarted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        Guid deploymentId = IdOf((await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId })).Body);
        foreach (string terminal in new[] { "COMPLETED", "CANCELLED", "CRASHED" })
        {
            Guid id = IdOf(await app.CreateFlowRunAsync(flowId, state: new { type = "RUNNING" }, extra: new { deployment_id = deploymentId }));
            await app.SetFlowRunStateAsync(id, new { type = terminal });
            string retryAt = Iso(DateTime.UtcNow.AddMinutes(1));

            var (_, result) = await app.SetFlowRunStateAsync(id, new { type = "SCHEDULED", name = "AwaitingRetry", state_details = new { scheduled_time = retryAt } });
            var run = await app.ReadAsync("flow", id);

            result.Str("status").Should().Be("ACCEPT", terminal);
            run["end_time"].Should().BeNull();
            run.Str("next_scheduled_start_time").Should().Be(retryAt);
        }
    }

    // UpdateFlowRunTrackerOnTasks

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
    public async Task TRACK_02_UnreadableFlowRun_Is404AndRollsEverythingBack()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" });
        await app.UpdateTaskRunAsync(task, r => r.FlowRunRunCount = 1);
        // Listed after the tracker, so its after hook runs first and the tracker finds no flow run.
        var policy = Policy(() => new UpdateFlowRunTrackerOnTasks(), () => new DeleteParentFlowRunAfterwards());

        var act = () => app.ProposeAsync("task", task, Proposal(StateType.Running), policy);

        (await act.Should().ThrowAsync<ObjectNotFoundException>()).Which.Message.Should().StartWith("Unable to read flow run associated with task run:");
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

    // HandleTaskTerminalStateTransitions: re-running failed tasks

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
        await using var app = await TestApp.StartAsync(database);
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

    // RetryFailedTasks

    [Theory]
    [InlineData(2, 2, "REJECT", "SCHEDULED")]
    [InlineData(3, 2, "ACCEPT", "FAILED")]
    [InlineData(1, 0, "ACCEPT", "FAILED")]
    public async Task TRETRY_01_02_03_FailedTask_IsRetriedWhileRunCountIsWithinRetries(int runCount, int retries, string status, string type)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "RUNNING" }, new { empirical_policy = new { retries } });
        await app.UpdateTaskRunAsync(task, r => r.RunCount = runCount);

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "FAILED" });

        result.Str("status").Should().Be(status);
        result!["state"].Str("type").Should().Be(type);
    }

    // RenameReruns

    [Theory]
    [InlineData(2, "Scheduled", "Rerunning")]
    [InlineData(2, "AwaitingRetry", "Retrying")]
    [InlineData(0, "Scheduled", "Running")]
    public async Task RENAME_01_02_03_RunningAgain_IsRenamedByWhatCameBefore(int runCount, string initialName, string expected)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", Scheduled(DateTime.UtcNow.AddSeconds(-1), initialName));
        await app.UpdateTaskRunAsync(task, r => r.RunCount = runCount);

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be(expected);
    }

    // Terminal-state protection

    public static IEnumerable<object?[]> TerminalToAny =>
        from t in StateSets.Terminal from p in StateTypes.All select new object?[] { t, p };

    public static IEnumerable<object?[]> NonTerminalToAny =>
        from i in Contexts.TypesAndNone.Where(t => !t.IsTerminal()) from p in StateTypes.All select new object?[] { i, p };

    [Theory]
    [MemberData(nameof(TerminalToAny))]
    public async Task TERM_01_03_TerminalRuns_AbortEveryProposal_UnlessForced(StateType initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (var (kind, rule) in new (string, Func<OrchestrationRule>)[]
        {
            ("flow", () => new HandleFlowTerminalStateTransitions()),
            ("task", () => new HandleTaskTerminalStateTransitions()),
        })
        {
            Guid id = await app.RunInStateAsync(kind, new { type = initial.Wire() });
            await app.UpdateRunAsync(kind, id, r => r.RunCount = 1);
            if (kind == "task")
            {
                // Not retrying: the flow run's count has not moved since the task ran.
                await app.UpdateTaskRunAsync(id, r => r.FlowRunRunCount = 1);
                var task = await app.TaskRunAsync(id);
                await app.UpdateFlowRunAsync(task.FlowRunId, r => r.RunCount = 1);
            }

            var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(rule));
            var forced = await app.SetStateAsync(kind, id, new { type = proposed.Wire() }, force: true);

            result.Status.Should().Be(SetStateStatus.Abort, $"{kind} {initial} -> {proposed}");
            result.Details.Reason.Should().Be("This run has already terminated.");
            forced.Body.Str("status").Should().Be("ACCEPT");
        }
    }

    [Theory]
    [MemberData(nameof(NonTerminalToAny))]
    public async Task TERM_02_NonTerminalRuns_AreNotProtected(StateType? initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (var (kind, rule) in new (string, Func<OrchestrationRule>)[]
        {
            ("flow", () => new HandleFlowTerminalStateTransitions()),
            ("task", () => new HandleTaskTerminalStateTransitions()),
        })
        {
            Guid id = initial is { } type
                ? await app.RunInStateAsync(kind, new { type = type.Wire(), state_details = new { scheduled_time = Iso(DateTime.UtcNow) } })
                : await app.StatelessRunAsync(kind);

            var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(rule));

            result.Status.Should().Be(SetStateStatus.Accept, $"{kind} {initial} -> {proposed}");
        }
    }

    // PreventRedundantTransitions

    public static IEnumerable<object?[]> RankedPairs =>
        from i in new StateType?[] { null, StateType.Scheduled, StateType.Pending, StateType.Running }
        from p in new StateType?[] { StateType.Scheduled, StateType.Pending, StateType.Running }
        select new object?[] { i, p };

    [Theory]
    [MemberData(nameof(RankedPairs))]
    public async Task REDUND_01_02_03_OnlyForwardMovesAreAccepted(StateType? initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        int Rank(StateType? t) => t switch { null => 0, StateType.Scheduled => 1, StateType.Pending => 2, _ => 3 };
        bool redundant = Rank(proposed) <= Rank(initial);
        foreach (string kind in Kinds)
        {
            Guid id = initial is { } type
                ? await app.RunInStateAsync(kind, new { type = type.Wire(), state_details = new { scheduled_time = Iso(DateTime.UtcNow) } })
                : await app.StatelessRunAsync(kind);

            var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(() => new PreventRedundantTransitions()));

            result.Status.Should().Be(redundant ? SetStateStatus.Abort : SetStateStatus.Accept, $"{kind} {initial} -> {proposed}");
            if (redundant)
            {
                result.Details.Reason.Should().Be($"This run cannot transition to the {proposed.Wire()} state from the {initial.ToMessageName()} state.");
            }
        }
    }

    [Fact]
    public async Task REDUND_02_TerminalAndPausedTransitions_AreOutsideTheRule()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (var (initial, proposed) in new[] { (StateType.Paused, StateType.Paused), (StateType.Running, StateType.Paused), (StateType.Paused, StateType.Pending), (StateType.Completed, StateType.Running) })
        {
            Guid id = await app.RunInStateAsync("task", new { type = initial.Wire() });
            var result = await app.ProposeAsync("task", id, Proposal(proposed), Policy(() => new PreventRedundantTransitions()));
            result.Status.Should().Be(SetStateStatus.Accept, $"{initial} -> {proposed}");
        }
    }

    [Fact]
    public async Task API_TR_12_ProposingTheSameStateTwice_IsAbortedTheSecondTime()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string type in new[] { "PENDING", "RUNNING" })
        {
            Guid id = await app.StatelessRunAsync("task");
            var (first, firstBody) = await app.SetTaskRunStateAsync(id, new { type });
            var (second, secondBody) = await app.SetTaskRunStateAsync(id, new { type });

            first.Should().Be(201);
            firstBody.Str("status").Should().Be("ACCEPT");
            second.Should().Be(200);
            secondBody.Str("status").Should().Be("ABORT");
        }
    }

    /// <summary>Rejects every proposal to a PAUSED state: a type no other rule in these tests expects.</summary>
    private sealed class RejectToPaused : OrchestrationRule
    {
        public override IReadOnlySet<StateType?> FromStates => StateSets.All;
        public override IReadOnlySet<StateType?> ToStates => StateSets.All;

        public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
        {
            RejectTransition(context, context.NewState(StateType.Paused, "Paused"), "paused by test");
            return Task.CompletedTask;
        }
    }

    private sealed class DeleteParentFlowRunAfterwards : OrchestrationRule<TaskOrchestrationContext>
    {
        public override IReadOnlySet<StateType?> FromStates => StateSets.All;
        public override IReadOnlySet<StateType?> ToStates => StateSets.All;

        protected override Task AfterTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken) =>
            context.Db.FlowRuns.Where(f => f.Id == context.TaskRun.FlowRunId).ExecuteDeleteAsync(cancellationToken);
    }

    private sealed class FailingRule : OrchestrationRule
    {
        public override IReadOnlySet<StateType?> FromStates => StateSets.All;
        public override IReadOnlySet<StateType?> ToStates => StateSets.All;

        public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("rule failed");
    }
}

public sealed class CoreRuleTestsOnSqlite() : CoreRuleTests(DatabaseKind.Sqlite);

public sealed class CoreRuleTestsOnPostgres() : CoreRuleTests(DatabaseKind.Postgres);
