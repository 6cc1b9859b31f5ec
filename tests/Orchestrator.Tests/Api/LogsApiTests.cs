using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class LogsApiTests(DatabaseKind database)
{
    private static object Record(string message, int level, string timestamp, Guid? flowRun = null, Guid? taskRun = null) =>
        new { name = "prefect.task_runs", level, message, timestamp, flow_run_id = flowRun, task_run_id = taskRun };

    [Fact]
    public async Task CreateLogs_Returns201WithAnEmptyBody_AndFilterReadsThemBackInTimeOrder()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = Guid.NewGuid();

        var (status, body) = await app.PostAsync("/api/logs/", new[]
        {
            Record("second", 20, "2026-11-22T11:24:56.000000+00:00", flowRun),
            Record("first", 40, "2026-11-22T11:24:55.000000+00:00", flowRun),
        });
        var (filtered, logs) = await app.PostAsync("/api/logs/filter", new { });

        status.Should().Be(201);
        body.Should().BeNull();
        filtered.Should().Be(200);
        logs!.AsArray().Select(l => l.Str("message")).Should().Equal("first", "second");
        var first = logs[0]!;
        first["level"]!.GetValue<int>().Should().Be(40);
        first.Str("name").Should().Be("prefect.task_runs");
        first.Str("timestamp").Should().Be("2026-11-22T11:24:55.000000+00:00");
        first.Str("flow_run_id").Should().Be(flowRun.ToString());
        first["task_run_id"].Should().BeNull();
        first.AsObject().Select(p => p.Key).Should().Equal(
            "id", "created", "updated", "name", "level", "message", "timestamp", "flow_run_id", "task_run_id");
    }

    [Theory]
    [InlineData("""[{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00"}, {"name": "n", "level": "loud", "message": "bad", "timestamp": "2026-11-22T11:24:55+00:00"}]""")]
    [InlineData("""[{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00"}, {"name": "n", "level": 20, "timestamp": "2026-11-22T11:24:55+00:00"}]""")]
    [InlineData("""[{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00"}, 7]""")]
    [InlineData("""[{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00", "colour": "red"}]""")]
    [InlineData("""[{"name": "n", "level": 20, "message": "ok", "timestamp": "yesterday"}]""")]
    [InlineData("""{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00"}""")]
    [InlineData("""[{"name": "n", "level": 20,""")]
    public async Task CreateLogs_AnyMalformedRecord_RefusesTheWholeBatchWith422(string batch)
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await app.PostRawAsync("/api/logs/", batch);
        var (_, logs) = await app.PostAsync("/api/logs/filter", new { });

        status.Should().Be(422);
        body.Str("exception_message").Should().Be("Invalid request received.");
        logs!.AsArray().Should().BeEmpty("a refused batch writes nothing");
    }

    [Fact]
    public async Task CreateLogs_OneBadRecord_NamesItsPositionInTheBatch()
    {
        await using var app = await TestApp.StartAsync(database);

        var (_, body) = await app.PostRawAsync("/api/logs/", """[{"name": "n", "level": 20, "message": "ok", "timestamp": "2026-11-22T11:24:55+00:00"}, {"name": "n", "level": 20, "message": "no time"}]""");

        body!["exception_detail"]![0]!["loc"]!.ToJsonString().Should().Be("[\"body\",1,\"timestamp\"]");
    }

    [Fact]
    public async Task FilterLogs_ByRunLevelAndTime_WithSortLimitAndOffset()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = Guid.NewGuid();
        Guid taskRun = Guid.NewGuid();
        await app.PostAsync("/api/logs/", new[]
        {
            Record("flow-info", 20, "2026-01-01T00:00:01+00:00", flowRun),
            Record("task-debug", 10, "2026-01-01T00:00:02+00:00", flowRun, taskRun),
            Record("task-error", 40, "2026-01-01T00:00:03+00:00", flowRun, taskRun),
            Record("other-run", 40, "2026-01-01T00:00:04+00:00", Guid.NewGuid()),
        });

        async Task<string?[]> Messages(object filter) =>
            (await app.PostAsync("/api/logs/filter", filter)).Body!.AsArray().Select(l => l.Str("message")).ToArray();

        (await Messages(new { logs = new { flow_run_id = new { any_ = new[] { flowRun } } } })).Should().Equal("flow-info", "task-debug", "task-error");
        (await Messages(new { logs = new { task_run_id = new { any_ = new[] { taskRun } } } })).Should().Equal("task-debug", "task-error");
        (await Messages(new { logs = new { level = new { ge_ = 20, le_ = 30 } } })).Should().Equal("flow-info");
        (await Messages(new { logs = new { timestamp = new { after_ = "2026-01-01T00:00:02+00:00", before_ = "2026-01-01T00:00:03+00:00" } } }))
            .Should().Equal("task-debug", "task-error");
        (await Messages(new { sort = "TIMESTAMP_DESC", limit = 2, offset = 1 })).Should().Equal("task-error", "task-debug");
        (await app.PostAsync("/api/logs/filter", new { sort = "LEVEL_DESC" })).Status.Should().Be(422);
        (await app.PostAsync("/api/logs/filter", new { logs = new { colour = new { any_ = new[] { "red" } } } })).Status.Should().Be(422);
    }

    [Fact]
    public async Task TheClientsLargestBatch_IsStored_AndALogOverItsSizeLimitIsRefused()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = Guid.NewGuid();
        // The Prefect client sends at most 4 MB of logs (as JSON) in one batch: here 4 MB of short ones.
        object Line(int i) => Record($"line {i:D6} " + new string('.', 60), 20, "2026-11-22T11:24:56.000000+00:00", flowRun);
        int count = 4_000_000 / (System.Text.Json.JsonSerializer.Serialize(Line(0)).Length + 1);
        var batch = Enumerable.Range(0, count).Select(Line).ToArray();

        var (stored, _) = await app.PostAsync("/api/logs/", batch);
        var (tooLong, refusal) = await app.PostAsync("/api/logs/", new[] { Record(new string('x', 1_000_001), 20, "2026-11-22T11:24:56.000000+00:00", flowRun) });

        stored.Should().Be(201);
        (await app.PostAsync("/api/logs/filter", new { limit = 1, offset = count - 1 })).Body!.AsArray().Should().ContainSingle();
        (await app.PostAsync("/api/logs/filter", new { limit = 1, offset = count })).Body!.AsArray().Should().BeEmpty();
        tooLong.Should().Be(422);
        refusal!["exception_detail"]![0]!["loc"]!.AsArray().Select(l => l!.ToString()).Should().Equal("body", "0", "message");
    }
}

public sealed class LogsApiTestsOnSqlite() : LogsApiTests(DatabaseKind.Sqlite);

public sealed class LogsApiTestsOnPostgres() : LogsApiTests(DatabaseKind.Postgres);
