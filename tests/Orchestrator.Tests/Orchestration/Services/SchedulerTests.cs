using Microsoft.EntityFrameworkCore;
using System.Text.Json.Nodes;
using Orchestrator.Orchestration.Services;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Services;

/// <summary>The scheduler services (server-services.md §5, §6), cycles run by hand on a manual clock.</summary>
public abstract class SchedulerTests(DatabaseKind database)
{
    protected static readonly DateTime Now = new(2026, 12, 1, 6, 53, 20, DateTimeKind.Utc);

    protected static async Task<Guid> DeploymentAsync(TestApp app, object schedule, bool active = true, string queue = "wq-new")
    {
        Guid flow = await app.CreateFlowAsync($"flow-{Guid.NewGuid():N}");
        var (status, deployment) = await app.PostAsync("/api/deployments/", new
        {
            name = "scheduled", flow_id = flow, schedule, is_schedule_active = active, work_queue_name = queue,
            parameters = new { a = 1 }, tags = new[] { "x" },
        });
        status.Should().Be(201);
        return IdOf(deployment);
    }

    protected static async Task<JsonArray> RunsOfAsync(TestApp app, Guid deployment) =>
        (await app.PostAsync("/api/flow_runs/filter", new
        {
            deployments = new { id = new { any_ = new[] { deployment } } },
            sort = "EXPECTED_START_TIME_ASC",
        })).Body!.AsArray();

    [Fact]
    public async Task Cycle_CreatesTheNextRunsOfAnHourlySchedule_As2_7_0Does()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid deployment = await DeploymentAsync(app, new { interval = 3600, anchor_date = "2020-01-01T00:00:00Z", timezone = "UTC" });

        int created = await app.Service<Scheduler>().RunCycleAsync(CancellationToken.None);
        var runs = await RunsOfAsync(app, deployment);

        created.Should().Be(3);
        runs.Select(r => r.Str("expected_start_time")).Should().Equal(
            "2026-12-01T07:00:00.000000+00:00", "2026-12-01T08:00:00.000000+00:00", "2026-12-01T09:00:00.000000+00:00");
        var first = runs[0]!;
        first.Str("idempotency_key").Should().Be($"scheduled {deployment} 2026-12-01T07:00:00+00:00");
        first["tags"]!.AsArray().Select(t => t!.ToString()).Should().Equal("auto-scheduled", "x");
        first["auto_scheduled"]!.GetValue<bool>().Should().BeTrue();
        first.Str("work_queue_name").Should().Be("wq-new");
        first["parameters"]!["a"]!.GetValue<int>().Should().Be(1);
        first.Str("state_type").Should().Be("SCHEDULED");
        first["state"].Str("name").Should().Be("Scheduled");
        first["state"].Str("message").Should().Be("Flow run scheduled");
        first["state"]!["state_details"].Str("scheduled_time").Should().Be("2026-12-01T07:00:00.000000+00:00");
        first.Str("next_scheduled_start_time").Should().Be(first.Str("expected_start_time"));
    }

    [Fact]
    public async Task Cycle_IsIdempotent_AndTopsUpAsTimePassesARun()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid deployment = await DeploymentAsync(app, new { interval = 3600, anchor_date = "2020-01-01T00:00:00Z", timezone = "UTC" });
        var scheduler = app.Service<Scheduler>();
        await scheduler.RunCycleAsync(CancellationToken.None);

        int again = await scheduler.RunCycleAsync(CancellationToken.None);
        var firstRun = IdOf((await RunsOfAsync(app, deployment))[0]);
        await app.SetFlowRunStateAsync(firstRun, new { type = "CANCELLED" });
        int sameDates = await scheduler.RunCycleAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(1));
        int topUp = await scheduler.RunCycleAsync(CancellationToken.None);
        var runs = await RunsOfAsync(app, deployment);

        again.Should().Be(0);
        sameDates.Should().Be(0, "the cancelled run's date already has its run");
        topUp.Should().Be(1);
        runs.Select(r => r.Str("expected_start_time")![11..13]).Should().Equal("07", "08", "09", "10");
    }

    [Fact]
    public async Task Cycle_SkipsInactiveSchedules_AndDeactivatingDeletesTheUpcomingAutoScheduledRuns()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid inactive = await DeploymentAsync(app, new { cron = "0 * * * *" }, active: false);
        Guid active = await DeploymentAsync(app, new { cron = "0 * * * *" });
        await app.Service<Scheduler>().RunCycleAsync(CancellationToken.None);
        await app.PostAsync($"/api/deployments/{active}/create_flow_run", new { state = new { type = "SCHEDULED" } });

        (await RunsOfAsync(app, inactive)).Should().BeEmpty();
        (await RunsOfAsync(app, active)).Should().HaveCount(4);
        (await app.PostAsync($"/api/deployments/{active}/set_schedule_inactive")).Status.Should().Be(200);
        (await RunsOfAsync(app, active)).Should().ContainSingle("the run created by hand is kept");
    }

    [Fact]
    public async Task RecentDeploymentsScheduler_SchedulesOnlyDeploymentsChangedInTheLastSeconds()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid old = await DeploymentAsync(app, new { interval = 600 });
        clock.Advance(TimeSpan.FromMinutes(1));
        Guid fresh = await DeploymentAsync(app, new { interval = 600 });

        await app.Service<RecentDeploymentsScheduler>().RunCycleAsync(CancellationToken.None);

        (await RunsOfAsync(app, old)).Should().BeEmpty();
        (await RunsOfAsync(app, fresh)).Should().HaveCount(7, "ten-minute runs for the next hour, the hour's end included");
    }

    [Fact]
    public async Task ScheduleEndpoint_CreatesTheWindowsRuns_AndPatchingRecreatesThem()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid deployment = await DeploymentAsync(app, new { interval = 86400, anchor_date = "2026-12-01T00:00:00Z" });

        var (status, body) = await app.PostAsync($"/api/deployments/{deployment}/schedule", new { min_runs = 5 });
        var five = await RunsOfAsync(app, deployment);
        await app.PatchAsync($"/api/deployments/{deployment}", new { schedule = new { interval = 3600, anchor_date = "2026-12-01T00:00:00Z" } });
        var afterPatch = await RunsOfAsync(app, deployment);
        await app.Service<RecentDeploymentsScheduler>().RunCycleAsync(CancellationToken.None);
        var recreated = await RunsOfAsync(app, deployment);

        status.Should().Be(200);
        body.Should().BeNull();
        five.Should().HaveCount(5);
        afterPatch.Should().BeEmpty("a changed schedule drops the runs of the old one");
        recreated.Select(r => r.Str("expected_start_time")![11..16]).Should().Equal("07:00", "08:00", "09:00");
        (await app.GetAsync($"/api/deployments/{deployment}")).Body!["schedule"]!["interval"]!.GetValue<double>().Should().Be(3600);
    }

    [Theory]
    [InlineData("""{"interval": 0}""", "interval")]
    [InlineData("""{"interval": 60, "timezone": "Mars/Olympus"}""", "timezone")]
    [InlineData("""{"cron": "not a cron"}""", "cron")]
    [InlineData("""{"cron": "H * * * *"}""", "cron")]
    [InlineData("""{"cron": "0 * * * *", "timezone": "Nowhere/Else"}""", "timezone")]
    [InlineData("""{"bogus": 1}""", "interval")]
    [InlineData("""{"rrule": "FREQ=DAILYBAD"}""", "rrule")]
    [InlineData("""{"rrule": "DTSTART:20200101T000000\nRRULE:FREQ=DAILY;UNTIL=20190101T000000"}""", "rrule")]
    [InlineData("""{"rrule": "FREQ=DAILY", "timezone": "Atlantis/Capital"}""", "timezone")]
    public async Task InvalidSchedules_Are422NamingTheField_AndNothingIsWritten(string schedule, string field)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flow = await app.CreateFlowAsync();

        var (status, error) = await app.PostAsync("/api/deployments/", $$"""{"name": "bad", "flow_id": "{{flow}}", "schedule": {{schedule}}}""");

        status.Should().Be(422);
        error!["exception_detail"]!.AsArray().Select(e => e!["loc"]!.AsArray().Last()!.ToString()).Should().Contain(field);
        (await app.PostAsync("/api/deployments/filter", new { })).Body!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task Cycle_CreatesTheRunsOfAnRRuleSchedule()
    {
        await using var app = await TestApp.StartAsync(database, new ManualClock(Now));
        Guid deployment = await DeploymentAsync(app, new { rrule = "DTSTART:20260101T090000\nRRULE:FREQ=DAILY", timezone = "America/New_York" });

        await app.Service<Scheduler>().RunCycleAsync(CancellationToken.None);
        var runs = await RunsOfAsync(app, deployment);

        runs.Select(r => r.Str("expected_start_time")).Should().Equal(
            "2026-12-01T14:00:00.000000+00:00", "2026-12-02T14:00:00.000000+00:00", "2026-12-03T14:00:00.000000+00:00");
        runs[0].Str("idempotency_key").Should().Be($"scheduled {deployment} 2026-12-01T09:00:00-05:00");
    }

    [Fact]
    public async Task SetScheduleActive_TogglesTheFlag_AndUnknownDeploymentsAre404()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid deployment = await DeploymentAsync(app, new { interval = 3600 }, active: false);

        var (status, body) = await app.PostAsync($"/api/deployments/{deployment}/set_schedule_active");
        bool active = (await app.GetAsync($"/api/deployments/{deployment}")).Body!["is_schedule_active"]!.GetValue<bool>();

        status.Should().Be(200);
        body.Should().BeNull();
        active.Should().BeTrue();
        (await RunsOfAsync(app, deployment)).Should().BeEmpty("activating creates no runs by itself");
        (await app.PostAsync($"/api/deployments/{Guid.NewGuid()}/set_schedule_active")).Status.Should().Be(404);
        (await app.PostAsync($"/api/deployments/{Guid.NewGuid()}/set_schedule_inactive")).Status.Should().Be(404);
    }

    [Fact]
    public async Task WorkQueueCheck_ListsTheLegacyQueuesWhoseFilterAcceptsTheDeployment()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid deployment = await DeploymentAsync(app, new { interval = 3600 });
        await app.PostAsync("/api/work_queues/", new { name = "legacy-x", filter = new { tags = new[] { "x" } } });
        await app.PostAsync("/api/work_queues/", new { name = "legacy-y", filter = new { tags = new[] { "y" } } });
        await app.PostAsync("/api/work_queues/", new { name = "new-style" });

        var (status, queues) = await app.GetAsync($"/api/deployments/{deployment}/work_queue_check");

        status.Should().Be(200);
        queues!.AsArray().Select(q => q.Str("name")).Should().Equal("legacy-x");
        (await app.GetAsync($"/api/deployments/{Guid.NewGuid()}/work_queue_check")).Status.Should().Be(404);
    }

    [Fact]
    public async Task ADeploymentWhoseStoredScheduleCannotBeRead_IsSkipped_AndTheOthersAreScheduled()
    {
        var clock = new ManualClock(Now);
        await using var app = await TestApp.StartAsync(database, clock);
        Guid broken = await DeploymentAsync(app, new { interval = 3600 });
        Guid fine = await DeploymentAsync(app, new { interval = 3600 });
        await app.WithDbAsync(async db =>
        {
            var deployment = await db.Deployments.SingleAsync(d => d.Id == broken);
            deployment.Schedule = new Orchestrator.Infrastructure.RawJson("""{"interval": "not a number", "anchor_date": "x", "timezone": "UTC"}""");
            await db.SaveChangesAsync();
        });

        int created = await app.Service<Scheduler>().RunCycleAsync(CancellationToken.None);
        int again = await app.Service<Scheduler>().RunCycleAsync(CancellationToken.None);

        created.Should().Be(3);
        again.Should().Be(0);
        (await RunsOfAsync(app, broken)).Should().BeEmpty();
        (await RunsOfAsync(app, fine)).Should().HaveCount(3);
    }

    [Fact]
    public async Task AScheduleStoredAsInterval_ReadsBackNormalized()
    {
        await using var app = await TestApp.StartAsync(database, new ManualClock(Now));
        Guid deployment = await DeploymentAsync(app, new { interval = "PT1H30M" });

        var schedule = (await app.GetAsync($"/api/deployments/{deployment}")).Body!["schedule"]!;

        schedule["interval"]!.GetValue<double>().Should().Be(5400);
        schedule.Str("timezone").Should().Be("UTC");
        DateTimeOffset.Parse(schedule.Str("anchor_date")!, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime.Should().Be(Now);
    }
}

public sealed class SchedulerTestsOnSqlite() : SchedulerTests(DatabaseKind.Sqlite);

public sealed class SchedulerTestsOnPostgres() : SchedulerTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task TwoInstances_SchedulingAtOnce_CreateEachRunOnce()
    {
        var clock = new ManualClock(Now);
        await using var first = await TestApp.StartAsync(DatabaseKind.Postgres, clock);
        await using var second = TestApp.StartAnotherInstance(first);
        var deployments = new List<Guid>();
        for (int i = 0; i < 5; i++)
        {
            deployments.Add(await DeploymentAsync(first, new { interval = 300, anchor_date = "2020-01-01T00:00:00Z" }));
        }

        var cycles = await Task.WhenAll(
            first.Service<Scheduler>().RunCycleAsync(CancellationToken.None),
            second.Service<Scheduler>().RunCycleAsync(CancellationToken.None),
            first.Service<RecentDeploymentsScheduler>().RunCycleAsync(CancellationToken.None),
            second.Service<RecentDeploymentsScheduler>().RunCycleAsync(CancellationToken.None));

        cycles.Sum().Should().Be(5 * 13, "every date of every deployment is inserted by exactly one of them");
        foreach (Guid deployment in deployments)
        {
            var keys = (await RunsOfAsync(first, deployment)).Select(r => r.Str("idempotency_key")).ToList();
            keys.Should().HaveCount(13).And.OnlyHaveUniqueItems();
        }
    }
}
