using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Services;

/// <summary>
/// The services as a server runs them: started by the host, on the system clock, seen only through the
/// HTTP API. Each check waits a bounded time for the service to have done its work.
/// </summary>
public abstract class ServicesOnTheRealClockTests(DatabaseKind database)
{
    private static async Task<JsonNode?> EventuallyAsync(Func<Task<JsonNode?>> probe, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            await Task.Delay(200);
        }

        return null;
    }

    [Fact]
    public async Task TheScheduler_CreatesANewDeploymentsRuns_WithinSeconds()
    {
        await using var app = await TestApp.StartAsync(database, settings: new()
        {
            ["Services:Scheduler:Enabled"] = "true",
            ["Services:Scheduler:RecentLoopSeconds"] = "0.5",
        }, realHttp: true);
        Guid flow = await app.CreateFlowAsync();
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "every-minute", flow_id = flow, schedule = new { cron = "* * * * *" } });

        var runs = await EventuallyAsync(async () =>
        {
            var found = (await app.PostAsync("/api/flow_runs/filter", new { deployments = new { id = new { any_ = new[] { IdOf(deployment) } } } })).Body!.AsArray();
            return found.Count > 0 ? found : null;
        }, TimeSpan.FromSeconds(20));

        runs.Should().NotBeNull("the recent-deployments pass schedules a new deployment within seconds");
        runs!.AsArray().Count.Should().BeGreaterThanOrEqualTo(60);
    }

    [Fact]
    public async Task TheLateRunsService_MarksAnOverdueRunLate_WithinSeconds()
    {
        await using var app = await TestApp.StartAsync(database, settings: new()
        {
            ["Services:LateRuns:Enabled"] = "true",
            ["Services:LateRuns:LoopSeconds"] = "0.2",
            ["Services:LateRuns:AfterSeconds"] = "1",
        }, realHttp: true);
        Guid run = IdOf(await app.CreateFlowRunAsync(state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMinutes(-1)) } }));

        var late = await EventuallyAsync(async () =>
        {
            var found = (await app.GetAsync($"/api/flow_runs/{run}")).Body;
            return found!["state"].Str("name") == "Late" ? found : null;
        }, TimeSpan.FromSeconds(20));

        late.Should().NotBeNull();
    }

    [Fact]
    public async Task TheSlotReaper_TakesBackAnIdleSlot_WithinSeconds()
    {
        await using var app = await TestApp.StartAsync(database, settings: new()
        {
            ["Orchestration:SlotLeaseSeconds"] = "2",
            ["Orchestration:ReaperIntervalSeconds"] = "1",
        }, realHttp: true);
        await app.CreateLimitAsync("gpu", 1);
        Guid task = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "gpu" } }));
        (await app.SetTaskRunStateAsync(task, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");

        var crashed = await EventuallyAsync(async () =>
        {
            var found = (await app.GetAsync($"/api/task_runs/{task}")).Body;
            return found!["state"].Str("type") == "CRASHED" ? found : null;
        }, TimeSpan.FromSeconds(20));

        crashed.Should().NotBeNull("the client went quiet, so its slot's lease ran out");
        (await app.ActiveSlotsAsync("gpu")).Should().BeEmpty();
    }
}

public sealed class ServicesOnTheRealClockTestsOnSqlite() : ServicesOnTheRealClockTests(DatabaseKind.Sqlite);

public sealed class ServicesOnTheRealClockTestsOnPostgres() : ServicesOnTheRealClockTests(DatabaseKind.Postgres);
