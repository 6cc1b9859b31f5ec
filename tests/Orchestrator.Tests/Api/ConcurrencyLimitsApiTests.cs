using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class ConcurrencyLimitsApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_CL_01_CreateLimit_Returns200WithId()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, limit) = await app.PostAsync("/api/concurrency_limits/", new { tag = "dummytag", concurrency_limit = 42 });

        status.Should().Be(200);
        limit.Str("id").Should().NotBeNull();
        limit!["concurrency_limit"]!.GetValue<int>().Should().Be(42);
        limit["active_slots"]!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task API_CL_02_UpsertLimit_KeepsIdAndSlots_AndChangesLimit()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, first) = await app.PostAsync("/api/concurrency_limits/", new { tag = "upsert tag", concurrency_limit = 42 });
        var task = await app.CreateTaskRunAsync(extra: new { tags = new[] { "upsert tag" } });
        await app.SetTaskRunStateAsync(IdOf(task), new { type = "RUNNING" });

        var (status, second) = await app.PostAsync("/api/concurrency_limits/", new { tag = "upsert tag", concurrency_limit = 4242 });

        status.Should().Be(200);
        second.Str("id").Should().Be(first.Str("id"));
        second!["concurrency_limit"]!.GetValue<int>().Should().Be(4242);
        DateTime.Parse(second.Str("updated")!).Should().BeAfter(DateTime.Parse(first.Str("updated")!));
        second["active_slots"]!.AsArray().Select(s => s!.GetValue<string>()).Should().Equal(task.Str("id"));
    }

    [Fact]
    public async Task API_CL_03_04_ReadLimit_ByIdAndByTag()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.CreateLimitAsync("read tag", 4242);

        var (byId, limit) = await app.GetAsync($"/api/concurrency_limits/{id}");
        var (byTag, tagged) = await app.GetAsync("/api/concurrency_limits/tag/read%20tag");
        var (missing, body) = await app.GetAsync("/api/concurrency_limits/tag/nope");
        var (missingId, _) = await app.GetAsync($"/api/concurrency_limits/{Guid.NewGuid()}");

        byId.Should().Be(200);
        limit.Str("tag").Should().Be("read tag");
        byTag.Should().Be(200);
        tagged.Str("id").Should().Be(id.ToString());
        tagged!["concurrency_limit"]!.GetValue<int>().Should().Be(4242);
        missing.Should().Be(404);
        body.Str("detail").Should().Be("Concurrency limit not found");
        missingId.Should().Be(404);
    }

    [Fact]
    public async Task API_CL_05_DeleteAndFilterLimits()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid b = await app.CreateLimitAsync("b", 1);
        await app.CreateLimitAsync("a", 1);
        await app.CreateLimitAsync("c", 1);

        var (_, listed) = await app.PostAsync("/api/concurrency_limits/filter", new { });
        var (_, paged) = await app.PostAsync("/api/concurrency_limits/filter", new { limit = 1, offset = 1 });
        var (byId, deletedBody) = await app.DeleteAsync($"/api/concurrency_limits/{b}");
        var (byTag, _) = await app.DeleteAsync("/api/concurrency_limits/tag/a");
        var (again, missingBody) = await app.DeleteAsync("/api/concurrency_limits/tag/a");
        var (_, remaining) = await app.PostAsync("/api/concurrency_limits/filter", new { });

        listed!.AsArray().Select(l => l.Str("tag")).Should().Equal("a", "b", "c");
        paged!.AsArray().Select(l => l.Str("tag")).Should().Equal("b");
        byId.Should().Be(200);
        deletedBody.Should().BeNull("the body is the JSON literal null");
        byTag.Should().Be(200);
        again.Should().Be(404);
        missingBody.Str("detail").Should().Be("Concurrency limit not found");
        remaining!.AsArray().Select(l => l.Str("tag")).Should().Equal("c");
    }

    [Fact]
    public async Task CreateLimit_Returns422_WithoutTagOrLimit()
    {
        await using var app = await TestApp.StartAsync(database);

        var (noLimit, _) = await app.PostAsync("/api/concurrency_limits/", new { tag = "x" });
        var (noTag, _) = await app.PostAsync("/api/concurrency_limits/", new { concurrency_limit = 1 });
        var (text, _) = await app.PostAsync("/api/concurrency_limits/", new { tag = "x", concurrency_limit = "many" });

        noLimit.Should().Be(422);
        noTag.Should().Be(422);
        text.Should().Be(422);
    }

    [Fact]
    public async Task Reset_GivesBackEverySlot_OrKeepsTheOverride_AndLeavesTheRunsAlone()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("stuck", 3);
        var tasks = new List<Guid>();
        for (int i = 0; i < 3; i++)
        {
            tasks.Add(IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "stuck" } })));
            await app.SetTaskRunStateAsync(tasks[i], new { type = "RUNNING" });
        }

        var (keep, kept) = await app.PostAsync("/api/concurrency_limits/tag/stuck/reset", new { slot_override = new[] { tasks[0] } });
        var slotsAfterOverride = await app.ActiveSlotsAsync("stuck");
        var (all, _) = await app.PostAsync("/api/concurrency_limits/tag/stuck/reset");
        var (missing, missingBody) = await app.PostAsync("/api/concurrency_limits/tag/nope/reset", new { });

        (keep, all).Should().Be((200, 200));
        kept.Should().BeNull();
        slotsAfterOverride.Should().Equal(tasks[0]);
        (await app.ActiveSlotsAsync("stuck")).Should().BeEmpty();
        (await app.ReadAsync("task", tasks[1]))["state"].Str("type").Should().Be("RUNNING");
        missing.Should().Be(404);
        missingBody.Str("detail").Should().Be("Concurrency limit not found");
    }

    [Theory]
    [InlineData("flow_runs")]
    [InlineData("flows")]
    public async Task DeletingAFlowOrFlowRun_GivesBackItsTaskRunsSlots(string deleted)
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 2);
        Guid flow = await app.CreateFlowAsync("with-slots");
        var flowRun = await app.CreateFlowRunAsync(flow);
        Guid task = IdOf(await app.CreateTaskRunAsync(IdOf(flowRun), extra: new { tags = new[] { "tag" } }));
        await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        Guid other = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "tag" } }));
        await app.SetTaskRunStateAsync(other, new { type = "RUNNING" });

        var (status, _) = await app.DeleteAsync(deleted == "flows" ? $"/api/flows/{flow}" : $"/api/flow_runs/{flowRun.Str("id")}");

        status.Should().Be(204);
        (await app.ActiveSlotsAsync("tag")).Should().Equal(other);
    }
}


public sealed class ConcurrencyLimitsApiTestsOnSqlite() : ConcurrencyLimitsApiTests(DatabaseKind.Sqlite);

public sealed class ConcurrencyLimitsApiTestsOnPostgres() : ConcurrencyLimitsApiTests(DatabaseKind.Postgres);
