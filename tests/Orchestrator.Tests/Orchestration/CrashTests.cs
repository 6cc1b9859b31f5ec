using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

/// <summary>
/// The server process is killed with SIGKILL in the middle of load on PostgreSQL and started again: no
/// transition is half-applied, and clients that retry their last proposal get an answer that agrees with
/// the database.
/// </summary>
public sealed class CrashTests
{
    private const int Clients = 8;

    [Fact]
    public async Task KilledMidLoad_RestartsWithInvariantsIntact_AndRetriedProposalsGetCoherentAnswers()
    {
        string database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            await RunAsync(database);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    private static async Task RunAsync(string database)
    {
        Guid flowRun;
        var lastProposals = new ConcurrentDictionary<int, (Guid TaskRun, string Type)>();
        int transitions = 0;
        await using (var server = await ServerProcess.StartAsync(DatabaseKind.Postgres, database))
        {
            await PostAsync(server.Client, "/api/concurrency_limits/", new { tag = "crash", concurrency_limit = 2 });
            var (_, flow) = await PostAsync(server.Client, "/api/flows/", new { name = "crash" });
            var (_, run) = await PostAsync(server.Client, "/api/flow_runs/", new { flow_id = flow.Str("id") });
            flowRun = IdOf(run);

            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
            {
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    var (_, task) = await PostAsync(server.Client, "/api/task_runs/", new
                    {
                        flow_run_id = flowRun, task_key = "t", dynamic_key = $"{client}-{n}", tags = new[] { "crash" }, state = new { type = "PENDING" },
                    });
                    Guid id = IdOf(task);
                    foreach (string type in new[] { "RUNNING", "COMPLETED" })
                    {
                        string status;
                        do
                        {
                            lastProposals[client] = (id, type);
                            var (_, result) = await PostAsync(server.Client, $"/api/task_runs/{id}/set_state", new { state = new { type } });
                            status = result.Str("status")!;
                            Interlocked.Increment(ref transitions);
                        }
                        while (status == "WAIT" && !stop.IsCancellationRequested);
                    }
                }
            })).ToArray();

            // Kill once load is well under way; every client is then cut off mid-request or between requests.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Volatile.Read(ref transitions) < 300 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            await server.KillAsync();
            stop.Cancel();
            foreach (var client in load)
            {
                await client.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        transitions.Should().BeGreaterThan(100, "the server was under load when it was killed");
        await using var inspector = TestApp.Attach(DatabaseKind.Postgres, database);
        (await Invariants.ViolationsAsync(inspector)).Should().BeEmpty("a killed server leaves no half-applied transition");

        await using var restarted = await ServerProcess.StartAsync(DatabaseKind.Postgres, database);
        foreach (var (taskRun, type) in lastProposals.Values)
        {
            var before = await inspector.ReadAsync("task", taskRun);
            var (status, result) = await PostAsync(restarted.Client, $"/api/task_runs/{taskRun}/set_state", new { state = new { type } });
            var after = await inspector.ReadAsync("task", taskRun);

            string outcome = result.Str("status")!;
            status.Should().Be(outcome is "ACCEPT" or "REJECT" ? 201 : 200);
            if (outcome is "ACCEPT" or "REJECT")
            {
                after.Str("state_id").Should().Be(result!["state"].Str("id"), "an accepted retry is the run's new current state");
            }
            else
            {
                after.Str("state_id").Should().Be(before.Str("state_id"), $"a {outcome} changes nothing");
            }
        }

        (await Invariants.ViolationsAsync(inspector)).Should().BeEmpty();

        // Finishing every run that was left RUNNING gives every slot back.
        var (_, running) = await PostAsync(restarted.Client, "/api/task_runs/filter", new { task_runs = new { state = new { type = new { any_ = new[] { "RUNNING" } } } } });
        foreach (var task in running!.AsArray())
        {
            (await PostAsync(restarted.Client, $"/api/task_runs/{task.Str("id")}/set_state", new { state = new { type = "COMPLETED" } })).Body.Str("status").Should().Be("ACCEPT");
        }

        (await inspector.ActiveSlotsAsync("crash")).Should().BeEmpty();
        (await Invariants.ViolationsAsync(inspector)).Should().BeEmpty();
    }

    private static async Task<(int Status, JsonNode? Body)> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
