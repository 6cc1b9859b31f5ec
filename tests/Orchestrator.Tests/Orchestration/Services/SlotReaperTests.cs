using Orchestrator.Orchestration.Services;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Services;

/// <summary>The slot reaper, cycles run by hand on a manual clock: slots come back from crashed clients.</summary>
public abstract class SlotReaperTests(DatabaseKind database)
{
    private const int Lease = 600;

    private static Dictionary<string, string?> Settings => new() { ["Orchestration:SlotLeaseSeconds"] = Lease.ToString() };

    private static Task<int> CycleAsync(TestApp app) => app.Service<SlotReaper>().RunCycleAsync(CancellationToken.None);

    /// <summary>A task run of a RUNNING flow run, holding a slot of the tag's limit.</summary>
    private static async Task<(Guid FlowRun, Guid Task)> RunningTaskAsync(TestApp app, string tag)
    {
        Guid flowRun = IdOf(await app.CreateFlowRunAsync(state: new { type = "RUNNING" }));
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, extra: new { tags = new[] { tag } }));
        (await app.SetTaskRunStateAsync(task, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");
        return (flowRun, task);
    }

    [Fact]
    public async Task AKilledClientsSlot_ReturnsAfterTheLease_AndItsRunIsCrashedWithAReason()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, Settings);
        await app.CreateLimitAsync("gpu", 1);
        var (_, killed) = await RunningTaskAsync(app, "gpu");
        Guid waiting = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "gpu" } }));
        (await app.SetTaskRunStateAsync(waiting, new { type = "RUNNING" })).Body.Str("status").Should().Be("WAIT");

        clock.Advance(TimeSpan.FromSeconds(Lease - 1));
        (await CycleAsync(app)).Should().Be(0, "the lease has a second left");
        clock.Advance(TimeSpan.FromSeconds(2));
        int released = await CycleAsync(app);

        released.Should().Be(1);
        var run = await app.ReadAsync("task", killed);
        run["state"].Str("type").Should().Be("CRASHED");
        run["state"].Str("message").Should().Contain("No sign of life").And.Contain("Orchestration:SlotLeaseSeconds");
        (await app.ActiveSlotsAsync("gpu")).Should().BeEmpty();
        (await app.SetTaskRunStateAsync(waiting, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");
        (await CycleAsync(app)).Should().Be(0, "a slot is taken back once");
    }

    [Fact]
    public async Task TheLease_IsRenewedByTheFlowRunsLogsAndByItsOtherTasks()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, Settings);
        await app.CreateLimitAsync("gpu", 1);
        var (flowRun, holder) = await RunningTaskAsync(app, "gpu");

        clock.Advance(TimeSpan.FromSeconds(Lease - 10));
        (await app.PostAsync("/api/logs/", new[]
        {
            new { name = "prefect.task_runs", level = 20, message = "still working", timestamp = Iso(clock.UtcNow), flow_run_id = flowRun, task_run_id = holder },
        })).Status.Should().Be(201);
        clock.Advance(TimeSpan.FromSeconds(Lease - 10));
        (await CycleAsync(app)).Should().Be(0, "a log renewed the lease");

        Guid sibling = IdOf(await app.CreateTaskRunAsync(flowRun));
        await app.SetTaskRunStateAsync(sibling, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromSeconds(Lease - 10));
        (await CycleAsync(app)).Should().Be(0, "another task of the flow run renewed it");

        clock.Advance(TimeSpan.FromSeconds(11));
        (await CycleAsync(app)).Should().Be(1);
        (await app.ReadAsync("task", holder))["state"].Str("type").Should().Be("CRASHED");
    }

    [Fact]
    public async Task AFlowRunEnding_FreesItsTaskRunsSlotsAtOnce_CrashingThem()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, Settings);
        await app.CreateLimitAsync("gpu", 3);
        var (flowRun, holder) = await RunningTaskAsync(app, "gpu");
        var (_, elsewhere) = await RunningTaskAsync(app, "gpu");

        (await app.SetFlowRunStateAsync(flowRun, new { type = "FAILED" })).Body.Str("status").Should().Be("ACCEPT");

        (await app.ActiveSlotsAsync("gpu")).Should().Equal(elsewhere);
        var run = await app.ReadAsync("task", holder);
        run["state"].Str("type").Should().Be("CRASHED");
        run["state"].Str("message").Should().Contain("flow run ended (FAILED)");
        (await CycleAsync(app)).Should().Be(0, "nothing was left for the reaper");
    }

    [Fact]
    public async Task ATerminalFlowRunsTaskSlots_LeftBehind_AreFreedByTheReapersNextLook()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, Settings);
        await app.CreateLimitAsync("gpu", 3);
        var (flowRun, first) = await RunningTaskAsync(app, "gpu");
        Guid second = IdOf(await app.CreateTaskRunAsync(flowRun, extra: new { tags = new[] { "gpu" } }));
        await app.SetTaskRunStateAsync(second, new { type = "RUNNING" });
        var (_, elsewhere) = await RunningTaskAsync(app, "gpu");
        // Ended behind the API's back (a server stopped between the two steps would leave this too).
        await app.UpdateFlowRunAsync(flowRun, run => run.StateType = Orchestrator.Data.StateType.Crashed);

        int released = await CycleAsync(app);

        released.Should().Be(2);
        foreach (Guid task in new[] { first, second })
        {
            var run = await app.ReadAsync("task", task);
            run["state"].Str("type").Should().Be("CRASHED");
            run["state"].Str("message").Should().Contain("flow run ended (CRASHED)");
        }

        (await app.ActiveSlotsAsync("gpu")).Should().Equal(elsewhere);
    }

    [Fact]
    public async Task ASlotNamingARunThatIsGoneOrNotRunning_IsReleased_WithoutTouchingTheRun()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, Settings);
        await app.CreateLimitAsync("gpu", 3);
        Guid pending = IdOf(await app.CreateTaskRunAsync(state: new { type = "PENDING" }, extra: new { tags = new[] { "gpu" } }));
        var (_, running) = await RunningTaskAsync(app, "gpu");
        Guid gone = Guid.NewGuid();
        await app.WithDbAsync(async db =>
        {
            var limit = db.ConcurrencyLimits.Single(l => l.Tag == "gpu");
            limit.ActiveSlots = [.. limit.ActiveSlots, gone, pending];
            await db.SaveChangesAsync();
        });

        int released = await CycleAsync(app);

        released.Should().Be(2);
        (await app.ActiveSlotsAsync("gpu")).Should().Equal(running);
        (await app.ReadAsync("task", pending))["state"].Str("type").Should().Be("PENDING");
    }

    [Fact]
    public async Task TwoInstancesReaping_TakeASlotBackOnce()
    {
        var clock = new ManualClock();
        await using var first = await TestApp.StartAsync(database, clock, Settings);
        await using var second = TestApp.StartAnotherInstance(first);
        await first.CreateLimitAsync("gpu", 5);
        for (int i = 0; i < 5; i++)
        {
            await RunningTaskAsync(first, "gpu");
        }

        clock.Advance(TimeSpan.FromSeconds(Lease + 1));
        int[] released = await Task.WhenAll(CycleAsync(first), CycleAsync(second));

        released.Sum().Should().Be(5);
        (await first.ActiveSlotsAsync("gpu")).Should().BeEmpty();
        var states = await first.WithDbAsync(db => Task.FromResult(db.TaskRunStates.Count(s => s.Type == Orchestrator.Data.StateType.Crashed)));
        states.Should().Be(5, "each run is crashed once");
    }
}

public sealed class SlotReaperTestsOnSqlite() : SlotReaperTests(DatabaseKind.Sqlite);

public sealed class SlotReaperTestsOnPostgres() : SlotReaperTests(DatabaseKind.Postgres);
