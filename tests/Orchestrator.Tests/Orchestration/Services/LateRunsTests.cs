using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestration.Services;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Services;

/// <summary>The late-runs service (server-services.md §7, decision D9), cycles run by hand on a manual clock.</summary>
public abstract class LateRunsTests(DatabaseKind database)
{
    private static async Task<Guid> ScheduledAtAsync(TestApp app, DateTime at, string? name = null) =>
        IdOf(await app.CreateFlowRunAsync(state: name is null
            ? new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(at) } }
            : new { type = "SCHEDULED", name, state_details = new { scheduled_time = Iso(at) } }));

    [Fact]
    public async Task Cycle_MarksRunsOverdueByMoreThanTheGrace_Late_KeepingTheirScheduledTime()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        DateTime now = clock.UtcNow;
        Guid late = await ScheduledAtAsync(app, now.AddMinutes(-1));
        Guid withinGrace = await ScheduledAtAsync(app, now.AddSeconds(-4));
        Guid future = await ScheduledAtAsync(app, now.AddMinutes(1));
        Guid retrying = await ScheduledAtAsync(app, now.AddMinutes(-1), "AwaitingRetry");

        int marked = await app.Service<LateRuns>().RunCycleAsync(CancellationToken.None);

        marked.Should().Be(1);
        var run = (await app.GetAsync($"/api/flow_runs/{late}")).Body!;
        run["state"].Str("name").Should().Be("Late");
        run["state"].Str("type").Should().Be("SCHEDULED");
        run["state"]!["state_details"].Str("scheduled_time").Should().Be(Iso(now.AddMinutes(-1)));
        run.Str("next_scheduled_start_time").Should().Be(Iso(now.AddMinutes(-1)));
        foreach (Guid untouched in new[] { withinGrace, future })
        {
            (await app.GetAsync($"/api/flow_runs/{untouched}")).Body!["state"].Str("name").Should().Be("Scheduled");
        }

        (await app.GetAsync($"/api/flow_runs/{retrying}")).Body!["state"].Str("name").Should().Be("AwaitingRetry");
        (await app.Service<LateRuns>().RunCycleAsync(CancellationToken.None)).Should().Be(0, "a run is marked once");
    }

    [Fact]
    public async Task ALateRun_StaysDeliverable_AndCanBePickedUp()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid run = await ScheduledAtAsync(app, clock.UtcNow.AddMinutes(-10));
        await app.Service<LateRuns>().RunCycleAsync(CancellationToken.None);

        var (_, pending) = await app.SetFlowRunStateAsync(run, new { type = "PENDING" });

        pending.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task D9_ARunPickedUpBeforeItsLockIsTaken_IsNotMarked()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid run = await ScheduledAtAsync(app, clock.UtcNow.AddMinutes(-1));
        await app.SetFlowRunStateAsync(run, new { type = "PENDING" });

        await using var scope = app.Scope();
        var result = await scope.ServiceProvider.GetRequiredService<Orchestrator.Orchestration.RunStateChanger>()
            .MarkLateAsync(run, clock.UtcNow.AddMinutes(-1), CancellationToken.None);

        result.Status.Should().Be(Orchestrator.Orchestration.SetStateStatus.Abort);
        (await app.GetAsync($"/api/flow_runs/{run}")).Body.Str("state_type").Should().Be("PENDING");
    }
}

public sealed class LateRunsTestsOnSqlite() : LateRunsTests(DatabaseKind.Sqlite);

public sealed class LateRunsTestsOnPostgres() : LateRunsTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task TwoInstances_MarkEachLateRunOnce()
    {
        var clock = new ManualClock();
        await using var first = await TestApp.StartAsync(DatabaseKind.Postgres, clock);
        await using var second = TestApp.StartAnotherInstance(first);
        var runs = new List<Guid>();
        for (int i = 0; i < 20; i++)
        {
            runs.Add(IdOf(await first.CreateFlowRunAsync(state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(clock.UtcNow.AddMinutes(-1 - i)) } })));
        }

        var marked = await Task.WhenAll(
            first.Service<LateRuns>().RunCycleAsync(CancellationToken.None),
            second.Service<LateRuns>().RunCycleAsync(CancellationToken.None));

        marked.Sum().Should().Be(20);
        foreach (Guid run in runs)
        {
            var history = (await first.GetAsync($"/api/flow_run_states/?flow_run_id={run}")).Body!.AsArray();
            history.Count(s => s.Str("name") == "Late").Should().Be(1);
        }
    }
}
