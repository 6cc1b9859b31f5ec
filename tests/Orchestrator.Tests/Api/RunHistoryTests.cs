using System.Text.Json.Nodes;
using Orchestrator.Data;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>Run history (server-services.md §8), pinned with the worked example of §8.2.</summary>
public abstract class RunHistoryTests(DatabaseKind database)
{
    private static readonly DateTime Day = new(2021, 7, 1, 0, 0, 0, DateTimeKind.Utc);

    private static async Task RunAsync(TestApp app, int minute, StateType type, string name, int? startedSecond = null, double totalSeconds = 0, int? stateSince = null)
    {
        Guid id = IdOf(await app.CreateFlowRunAsync());
        await app.UpdateFlowRunAsync(id, r =>
        {
            r.ExpectedStartTime = Day.AddMinutes(minute);
            r.StateType = type;
            r.StateName = name;
            r.StateTimestamp = Day.AddSeconds(stateSince ?? (minute * 60));
            r.StartTime = startedSecond is { } s ? Day.AddSeconds(s) : null;
            r.TotalRunTime = TimeSpan.FromSeconds(totalSeconds);
        });
    }

    [Fact]
    public async Task FlowRunHistory_CountsRunsByCurrentStateInBucketsOfTheirExpectedStart()
    {
        await using var app = await TestApp.StartAsync(database, new ManualClock(Day.AddHours(2.5)));
        await RunAsync(app, 10, StateType.Completed, "Completed", startedSecond: 605, totalSeconds: 30);
        await RunAsync(app, 50, StateType.Failed, "Failed", startedSecond: 3000, totalSeconds: 12);
        await RunAsync(app, 65, StateType.Scheduled, "Late");
        await RunAsync(app, 100, StateType.Scheduled, "Late");
        await RunAsync(app, 120, StateType.Running, "Running", startedSecond: 7210, stateSince: 7210);
        await RunAsync(app, 180, StateType.Scheduled, "Scheduled");

        var (status, history) = await app.PostAsync("/api/flow_runs/history", new
        {
            history_start = "2021-07-01T00:00:00Z", history_end = "2021-07-01T03:00:00Z", history_interval_seconds = 3600,
        });

        status.Should().Be(200);
        var buckets = history!.AsArray();
        buckets.Select(b => b.Str("interval_start")).Should().Equal(
            "2021-07-01T00:00:00.000000+00:00", "2021-07-01T01:00:00.000000+00:00", "2021-07-01T02:00:00.000000+00:00");
        States(buckets[0]).Should().Equal(("Completed", 1, 30.0, 5.0), ("Failed", 1, 12.0, 0.0));
        States(buckets[1]).Should().Equal(("Late", 2, 0.0, 8100.0));
        // RUNNING since 02:00:10 at 02:30:00 is 1790 s by §8.1's formula; §8.2 prints 1190, which would need
        // 02:20:00, while its lateness sums (5100 s + 3000 s) are computed at 02:30:00.
        States(buckets[2]).Should().Equal(("Running", 1, 1790.0, 10.0));
    }

    [Theory]
    [InlineData(14 * 86400, 86400, 14)]
    [InlineData(10 * 86400, 25 * 3600, 10)]
    [InlineData(86400, 66 * 60, 22)]
    [InlineData(10 * 86400, 60, 500)]
    public async Task History_HasOneBucketPerInterval_AtMost500(int windowSeconds, int intervalSeconds, int buckets)
    {
        await using var app = await TestApp.StartAsync(database);

        var (_, history) = await app.PostAsync("/api/task_runs/history", new
        {
            history_start = Iso(Day), history_end = Iso(Day.AddSeconds(windowSeconds)), history_interval_seconds = intervalSeconds,
        });

        history!.AsArray().Should().HaveCount(buckets).And.OnlyContain(b => b!["states"]!.AsArray().Count == 0);
    }

    [Fact]
    public async Task History_RefusesAnIntervalUnderOneSecond_AndAMissingKey()
    {
        await using var app = await TestApp.StartAsync(database);

        var (tooShort, detail) = await app.PostAsync("/api/flow_runs/history", new { history_start = Iso(Day), history_end = Iso(Day.AddDays(1)), history_interval_seconds = 0.5 });
        var (missing, _) = await app.PostAsync("/api/flow_runs/history", new { history_start = Iso(Day), history_end = Iso(Day.AddDays(1)) });

        tooShort.Should().Be(422);
        detail.Str("detail").Should().Be("History interval must not be less than 1 second.");
        missing.Should().Be(422);
    }

    [Fact]
    public async Task UiHistory_GivesOnePointPerRun()
    {
        await using var app = await TestApp.StartAsync(database, new ManualClock(Day.AddHours(2.5)));
        await RunAsync(app, 10, StateType.Completed, "Completed", startedSecond: 605, totalSeconds: 30);

        var (status, points) = await app.PostAsync("/api/ui/flow_runs/history", new { });
        var (tooMany, _) = await app.PostAsync("/api/ui/flow_runs/history", new { limit = 1001 });

        status.Should().Be(200);
        var point = points!.AsArray().Single()!;
        point.Str("state_type").Should().Be("COMPLETED");
        point["duration"]!.GetValue<double>().Should().Be(30);
        point["lateness"]!.GetValue<double>().Should().Be(5);
        tooMany.Should().Be(422);
    }

    private static List<(string?, int, double, double)> States(JsonNode? bucket) =>
        bucket!["states"]!.AsArray().Select(s => (
            s.Str("state_name"),
            s!["count_runs"]!.GetValue<int>(),
            s["sum_estimated_run_time"]!.GetValue<double>(),
            s["sum_estimated_lateness"]!.GetValue<double>())).ToList();
}

public sealed class RunHistoryTestsOnSqlite() : RunHistoryTests(DatabaseKind.Sqlite);

public sealed class RunHistoryTestsOnPostgres() : RunHistoryTests(DatabaseKind.Postgres);
