using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>The work-queue routes (server-services.md §2), on both databases.</summary>
public abstract class WorkQueuesApiTests(DatabaseKind database)
{
    private static async Task<Guid> QueueAsync(TestApp app, string name, object? extra = null)
    {
        var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra ?? new { }))!.AsObject();
        body["name"] = name;
        var (status, queue) = await app.PostAsync("/api/work_queues/", body.ToJsonString());
        status.Should().Be(201);
        return IdOf(queue);
    }

    /// <summary>A deployment on the queue and a run of it, SCHEDULED at <paramref name="at"/>.</summary>
    private static async Task<Guid> ScheduledRunAsync(TestApp app, Guid deployment, DateTime at)
    {
        var (status, run) = await app.PostAsync($"/api/deployments/{deployment}/create_flow_run", new
        {
            state = new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(at) } },
        });
        status.Should().Be(201);
        return IdOf(run);
    }

    private static async Task<Guid> DeploymentAsync(TestApp app, string queue)
    {
        Guid flow = await app.CreateFlowAsync($"flow-{Guid.NewGuid():N}");
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flow, work_queue_name = queue });
        return IdOf(deployment);
    }

    private static List<Guid> Ids(JsonNode? runs) => runs!.AsArray().Select(r => IdOf(r)).ToList();

    [Fact]
    public async Task Create_Answers201WithDefaults_AndATakenName409()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, queue) = await app.PostAsync("/api/work_queues/", new { name = "wq-a" });
        var (again, conflict) = await app.PostAsync("/api/work_queues/", new { name = "wq-a" });

        status.Should().Be(201);
        queue.Str("description").Should().Be("");
        queue!["is_paused"]!.GetValue<bool>().Should().BeFalse();
        queue["concurrency_limit"].Should().BeNull();
        queue["last_polled"].Should().BeNull();
        again.Should().Be(409);
        conflict.Str("detail").Should().Be("A work queue with this name already exists.");
    }

    [Theory]
    [InlineData("""{"name": "wq/a"}""", "name")]
    [InlineData("""{}""", "name")]
    [InlineData("""{"name": "q", "is_paused": null}""", "is_paused")]
    [InlineData("""{"name": "q", "bogus": 1}""", "bogus")]
    [InlineData("""{"name": "q", "concurrency_limit": -1}""", "concurrency_limit")]
    public async Task Create_RefusesBadBodies_With422NamingTheField(string body, string field)
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, error) = await app.PostAsync("/api/work_queues/", body);

        status.Should().Be(422);
        error!["exception_detail"]!.AsArray().Select(e => e!["loc"]!.AsArray().Last()!.ToString()).Should().Contain(field);
    }

    [Fact]
    public async Task Read_ByIdAndByName_Or404()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await QueueAsync(app, "my queue: 🚀");

        (await app.GetAsync($"/api/work_queues/{id}")).Body.Str("name").Should().Be("my queue: 🚀");
        (await app.GetAsync($"/api/work_queues/name/{Uri.EscapeDataString("my queue: 🚀")}")).Body.Str("id").Should().Be(id.ToString());
        var (missing, body) = await app.GetAsync($"/api/work_queues/{Guid.NewGuid()}");
        missing.Should().Be(404);
        body.Str("detail").Should().Be("work queue not found");
        (await app.GetAsync("/api/work_queues/name/nope")).Status.Should().Be(404);
    }

    [Fact]
    public async Task Update_WritesOnlyThePresentKeys()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await QueueAsync(app, "wq", new { description = "kept", concurrency_limit = 3 });

        var (status, _) = await app.PatchAsync($"/api/work_queues/{id}", new { is_paused = true });
        var queue = (await app.GetAsync($"/api/work_queues/{id}")).Body;

        status.Should().Be(204);
        queue!["is_paused"]!.GetValue<bool>().Should().BeTrue();
        queue.Str("description").Should().Be("kept");
        queue["concurrency_limit"]!.GetValue<int>().Should().Be(3);
        (await app.PatchAsync($"/api/work_queues/{Guid.NewGuid()}", new { })).Status.Should().Be(404);
    }

    [Fact]
    public async Task Delete_RemovesTheQueue_AndKeepsItsRuns()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid deployment = await DeploymentAsync(app, "doomed");
        Guid run = await ScheduledRunAsync(app, deployment, DateTime.UtcNow);
        var queue = (await app.GetAsync("/api/work_queues/name/doomed")).Body;

        (await app.DeleteAsync($"/api/work_queues/{IdOf(queue)}")).Status.Should().Be(204);
        (await app.DeleteAsync($"/api/work_queues/{IdOf(queue)}")).Status.Should().Be(404);
        (await app.GetAsync($"/api/flow_runs/{run}")).Body.Str("work_queue_name").Should().Be("doomed");
    }

    [Fact]
    public async Task Filter_ByExactNameOrPrefix_OrderedByName()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string name in new[] { "beta", "alpha", "Alphabet", "gamma" })
        {
            await QueueAsync(app, name);
        }

        var all = (await app.PostAsync("/api/work_queues/filter", new { })).Body!.AsArray().Select(q => q.Str("name"));
        var prefixed = (await app.PostAsync("/api/work_queues/filter", new { work_queues = new { name = new { startswith_ = new[] { "alp" } } } })).Body!.AsArray().Select(q => q.Str("name"));
        var exact = (await app.PostAsync("/api/work_queues/filter", new { work_queues = new { name = new { any_ = new[] { "gamma" } } } })).Body!.AsArray().Select(q => q.Str("name"));

        all.Should().Equal("Alphabet", "alpha", "beta", "gamma");
        prefixed.Should().BeEquivalentTo("alpha", "Alphabet");
        exact.Should().Equal("gamma");
        (await app.PostAsync("/api/work_queues/filter", new { limit = 201 })).Status.Should().Be(422);
    }

    [Fact]
    public async Task CreatingADeployment_CreatesTheQueueItNames()
    {
        await using var app = await TestApp.StartAsync(database);

        await DeploymentAsync(app, "from-deployment");
        await DeploymentAsync(app, "from-deployment");

        (await app.GetAsync("/api/work_queues/name/from-deployment")).Status.Should().Be(200);
    }

    [Fact]
    public async Task GetRuns_GivesTheQueuesScheduledRuns_SoonestFirst_DueBeforeTheGivenTime()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid deployment = await DeploymentAsync(app, "q");
        DateTime now = DateTime.UtcNow;
        Guid later = await ScheduledRunAsync(app, deployment, now.AddMinutes(10));
        Guid soon = await ScheduledRunAsync(app, deployment, now.AddMinutes(1));
        Guid overdue = await ScheduledRunAsync(app, deployment, now.AddMinutes(-5));
        Guid other = await ScheduledRunAsync(app, await DeploymentAsync(app, "other"), now);
        Guid queue = IdOf((await app.GetAsync("/api/work_queues/name/q")).Body);

        var all = (await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { })).Body;
        var due = (await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { scheduled_before = Iso(now.AddMinutes(2)) })).Body;
        var one = (await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { limit = 1 })).Body;

        Ids(all).Should().Equal(overdue, soon, later).And.NotContain(other);
        Ids(due).Should().Equal(overdue, soon);
        Ids(one).Should().Equal(overdue);
        (await app.GetAsync($"/api/work_queues/{queue}")).Body!["last_polled"].Should().NotBeNull();
    }

    [Fact]
    public async Task GetRuns_OfAPausedQueue_IsEmpty_AndAFullQueue_GivesOnlyItsRoom()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid deployment = await DeploymentAsync(app, "limited");
        Guid queue = IdOf((await app.GetAsync("/api/work_queues/name/limited")).Body);
        await app.PatchAsync($"/api/work_queues/{queue}", new { concurrency_limit = 2 });
        var runs = new List<Guid>();
        for (int i = 0; i < 4; i++)
        {
            runs.Add(await ScheduledRunAsync(app, deployment, DateTime.UtcNow.AddMinutes(-10 + i)));
        }

        (await app.SetFlowRunStateAsync(runs[0], new { type = "PENDING" })).Body.Str("status").Should().Be("ACCEPT");
        var room = (await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { })).Body;
        await app.PatchAsync($"/api/work_queues/{queue}", new { is_paused = true });
        var paused = (await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { })).Body;

        Ids(room).Should().Equal(runs[1]);
        paused!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task D8_APendingProposalOverTheQueuesLimit_IsAborted_AndTheRunStaysScheduled()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid deployment = await DeploymentAsync(app, "one-at-a-time");
        Guid queue = IdOf((await app.GetAsync("/api/work_queues/name/one-at-a-time")).Body);
        await app.PatchAsync($"/api/work_queues/{queue}", new { concurrency_limit = 1 });
        Guid first = await ScheduledRunAsync(app, deployment, DateTime.UtcNow.AddMinutes(-1));
        Guid second = await ScheduledRunAsync(app, deployment, DateTime.UtcNow.AddMinutes(-1));

        var (_, taken) = await app.SetFlowRunStateAsync(first, new { type = "PENDING" });
        var (_, refused) = await app.SetFlowRunStateAsync(second, new { type = "PENDING" });
        string? stateAfterRefusal = (await app.GetAsync($"/api/flow_runs/{second}")).Body.Str("state_type");
        await app.SetFlowRunStateAsync(first, new { type = "RUNNING" });
        await app.SetFlowRunStateAsync(first, new { type = "COMPLETED" });
        var (_, admitted) = await app.SetFlowRunStateAsync(second, new { type = "PENDING" });

        taken.Str("status").Should().Be("ACCEPT");
        refused.Str("status").Should().Be("ABORT");
        refused!["details"].Str("reason").Should().Contain("'one-at-a-time'").And.Contain("concurrency limit of 1");
        refused["state"].Should().BeNull();
        stateAfterRefusal.Should().Be("SCHEDULED");
        admitted.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task Status_IsHealthyOnlyWhenPolledLately_AndWithoutLateRuns()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid deployment = await DeploymentAsync(app, "watched");
        Guid queue = IdOf((await app.GetAsync("/api/work_queues/name/watched")).Body);
        async Task<JsonNode> StatusAsync() => (await app.GetAsync($"/api/work_queues/{queue}/status")).Body!;

        var never = await StatusAsync();
        await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { });
        var polled = await StatusAsync();
        clock.Advance(TimeSpan.FromSeconds(61));
        var stale = await StatusAsync();
        await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { });
        await app.PostAsync($"/api/deployments/{deployment}/create_flow_run", new { state = new { type = "SCHEDULED", name = "Late" } });
        var late = await StatusAsync();
        var (missing, body) = await app.GetAsync($"/api/work_queues/{Guid.NewGuid()}/status");

        never["healthy"]!.GetValue<bool>().Should().BeFalse("a queue never polled is unhealthy");
        polled["healthy"]!.GetValue<bool>().Should().BeTrue();
        polled["late_runs_count"]!.GetValue<int>().Should().Be(0);
        polled["health_check_policy"]!["maximum_seconds_since_last_polled"]!.GetValue<int>().Should().Be(60);
        stale["healthy"]!.GetValue<bool>().Should().BeFalse("the last poll is more than a minute old");
        late["healthy"]!.GetValue<bool>().Should().BeFalse("polled just now, but a run is late");
        late["late_runs_count"]!.GetValue<int>().Should().Be(1);
        missing.Should().Be(404);
        body.Str("exception_message").Should().StartWith("Work queue with id");
    }
}

public sealed class WorkQueuesApiTestsOnSqlite() : WorkQueuesApiTests(DatabaseKind.Sqlite);

public sealed class WorkQueuesApiTestsOnPostgres() : WorkQueuesApiTests(DatabaseKind.Postgres);
