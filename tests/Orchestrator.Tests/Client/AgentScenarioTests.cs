using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Client;

/// <summary>
/// Agents as the Prefect 2.7 agent behaves (server-services.md §11), driven over real HTTP against a server
/// whose scheduler runs for real: a deployment with an interval schedule on a queue with a concurrency
/// limit of 2; runs created by the scheduler are picked up soonest first and never more than two are in
/// flight; a paused queue hands out nothing. On PostgreSQL two agents poll one queue through two server
/// instances at once (decision D8).
/// </summary>
public abstract class AgentScenarioTests(DatabaseKind database)
{
    /// <summary>One agent poll: get_runs, then claim each run with PENDING; returns the runs it claimed.</summary>
    private static async Task<List<Guid>> PollAsync(TestApp app, Guid queue)
    {
        var (status, runs) = await app.PostAsync($"/api/work_queues/{queue}/get_runs", new { limit = 10, scheduled_before = Iso(DateTime.UtcNow) });
        status.Should().Be(200);
        var claimed = new List<Guid>();
        foreach (var run in runs!.AsArray())
        {
            Guid id = IdOf(run);
            var (_, result) = await app.SetFlowRunStateAsync(id, new { type = "PENDING" });
            if (result.Str("status") == "ACCEPT")
            {
                claimed.Add(id);
            }
        }

        return claimed;
    }

    private static async Task<int> InFlightAsync(TestApp app, string queue)
    {
        var (_, runs) = await app.PostAsync("/api/flow_runs/filter", new
        {
            flow_runs = new
            {
                work_queue_name = new { any_ = new[] { queue } },
                state = new { type = new { any_ = new[] { "PENDING", "RUNNING" } } },
            },
        });
        return runs!.AsArray().Count;
    }

    private static async Task FinishAsync(TestApp app, Guid run)
    {
        (await app.SetFlowRunStateAsync(run, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");
        (await app.SetFlowRunStateAsync(run, new { type = "COMPLETED" })).Body.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task ScheduledRuns_ArePickedUpInOrder_NeverMoreThanTheQueueLimit_AndNotFromAPausedQueue()
    {
        await using var app = await TestApp.StartAsync(database, settings: new()
        {
            ["Services:Scheduler:Enabled"] = "true",
            ["Services:Scheduler:RecentLoopSeconds"] = "0.5",
        }, realHttp: true);
        var instances = database == DatabaseKind.Postgres ? new[] { app, TestApp.StartAnotherInstance(app) } : [app];
        try
        {
            var (_, queue) = await app.PostAsync("/api/work_queues/", new { name = "agents", concurrency_limit = 2 });
            Guid queueId = IdOf(queue);
            Guid flow = await app.CreateFlowAsync("scheduled-flow");
            await app.PostAsync("/api/deployments/", new
            {
                name = "every-second", flow_id = flow, work_queue_name = "agents",
                schedule = new { interval = 1, anchor_date = Iso(DateTime.UtcNow) },
            });

            JsonArray scheduled = [];
            for (int i = 0; i < 100 && scheduled.Count < 3; i++)
            {
                await Task.Delay(200);
                scheduled = (await app.PostAsync("/api/flow_runs/filter", new
                {
                    flow_runs = new
                    {
                        work_queue_name = new { any_ = new[] { "agents" } },
                        state = new { type = new { any_ = new[] { "SCHEDULED" } } },
                        next_scheduled_start_time = new { before_ = Iso(DateTime.UtcNow) },
                    },
                    sort = "NEXT_SCHEDULED_START_TIME_ASC",
                })).Body!.AsArray();
            }

            scheduled.Count.Should().BeGreaterThanOrEqualTo(3, "the scheduler created the deployment's runs, and the first are due");
            var expectedOrder = scheduled.Select(r => IdOf(r)).ToList();

            var claimedFirst = (await Task.WhenAll(instances.Select(i => PollAsync(i, queueId)))).SelectMany(c => c).ToList();
            claimedFirst.Should().HaveCount(2, "the queue's limit is 2, however many agents poll at once");
            claimedFirst.Should().BeEquivalentTo(expectedOrder.Take(2), "the soonest runs go first");
            (await InFlightAsync(app, "agents")).Should().Be(2);

            var nothingMore = (await Task.WhenAll(instances.Select(i => PollAsync(i, queueId)))).SelectMany(c => c).ToList();
            nothingMore.Should().BeEmpty("both slots are taken");

            await FinishAsync(app, claimedFirst[0]);
            var next = (await Task.WhenAll(instances.Select(i => PollAsync(i, queueId)))).SelectMany(c => c).ToList();
            next.Should().Equal(expectedOrder[2]);
            (await InFlightAsync(app, "agents")).Should().Be(2);

            await app.PatchAsync($"/api/work_queues/{queueId}", new { is_paused = true });
            await FinishAsync(app, claimedFirst[1]);
            await FinishAsync(app, next[0]);
            var whilePaused = (await Task.WhenAll(instances.Select(i => PollAsync(i, queueId)))).SelectMany(c => c).ToList();
            whilePaused.Should().BeEmpty("a paused queue hands out nothing");
        }
        finally
        {
            foreach (var instance in instances.Skip(1))
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task D8_RacingPendingProposalsForDifferentRuns_AdmitOnlyTheQueuesLimit()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        var instances = database == DatabaseKind.Postgres ? new[] { app, TestApp.StartAnotherInstance(app) } : [app];
        try
        {
            await app.PostAsync("/api/work_queues/", new { name = "raced", concurrency_limit = 2 });
            Guid flow = await app.CreateFlowAsync("raced-flow");
            var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flow, work_queue_name = "raced" });
            for (int round = 0; round < 3; round++)
            {
                var runs = new List<Guid>();
                for (int i = 0; i < 12; i++)
                {
                    var (_, run) = await app.PostAsync($"/api/deployments/{IdOf(deployment)}/create_flow_run", new
                    {
                        state = new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMinutes(-1)) } },
                    });
                    runs.Add(IdOf(run));
                }

                var answers = await Task.WhenAll(runs.Select((id, i) => instances[i % instances.Length].SetFlowRunStateAsync(id, new { type = "PENDING" })));
                var admitted = runs.Where((_, i) => answers[i].Body.Str("status") == "ACCEPT").ToList();

                admitted.Should().HaveCount(2, $"round {round}: the queue admits its limit of two, however the proposals race");
                (await InFlightAsync(app, "raced")).Should().Be(2);
                foreach (Guid id in admitted)
                {
                    await FinishAsync(app, id);
                }
            }
        }
        finally
        {
            foreach (var instance in instances.Skip(1))
            {
                await instance.DisposeAsync();
            }
        }
    }
}

public sealed class AgentScenarioTestsOnSqlite() : AgentScenarioTests(DatabaseKind.Sqlite);

public sealed class AgentScenarioTestsOnPostgres() : AgentScenarioTests(DatabaseKind.Postgres);
