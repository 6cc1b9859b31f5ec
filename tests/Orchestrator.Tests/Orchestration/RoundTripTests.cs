using System.Collections.Concurrent;
using System.Diagnostics;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

/// <summary>
/// What a task run's lifecycle costs PostgreSQL in round trips, counted as Npgsql's command activities in
/// each request's trace: the create is one (the run, its first state and the COMMIT in one batch),
/// RUNNING two (the lock, which reads the flow run's run count too; the writes with the COMMIT),
/// COMPLETED two. A change that adds a statement of its own to the hot path fails here.
/// </summary>
public sealed class RoundTripTests
{
    [Fact]
    public async Task ATaskRunsLifecycle_TakesOneRoundTripToCreate_AndTwoPerTransition()
    {
        var commands = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = commands.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await TestApp.StartAsync(DatabaseKind.Postgres);
        Guid flowRun = IdOf(await app.CreateFlowRunAsync(state: new { type = "RUNNING" }));

        async Task<(int Status, int RoundTrips, System.Text.Json.Nodes.JsonNode? Body)> CountAsync(string path, string body)
        {
            var traceId = ActivityTraceId.CreateRandom();
            using var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await app.Client.SendAsync(request);
            var answer = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync());
            // Commands only: Npgsql also traces the opening of a physical connection (its physical-open
            // tracing, on by default), which a request that finds no idle connection in the pool pays
            // once, not per lifecycle (under a loaded test run a background service may hold the idle one).
            var sent = commands.Where(c => c.TraceId == traceId && c.GetTagItem("db.query.text") is not null).ToList();
            return ((int)response.StatusCode, sent.Count, answer);
        }

        var create = await CountAsync("/api/task_runs/", $$$"""{"flow_run_id": "{{{flowRun}}}", "task_key": "t", "dynamic_key": "0", "state": {"type": "PENDING"}}""");
        Guid task = IdOf(create.Body);
        var running = await CountAsync($"/api/task_runs/{task}/set_state", """{"state": {"type": "RUNNING"}}""");
        var completed = await CountAsync($"/api/task_runs/{task}/set_state", """{"state": {"type": "COMPLETED"}}""");

        new[] { (create.Status, create.RoundTrips), (running.Status, running.RoundTrips), (completed.Status, completed.RoundTrips) }
            .Should().Equal((201, 1), (201, 2), (201, 2));
        running.Body!["status"]!.GetValue<string>().Should().Be("ACCEPT");
        completed.Body!["status"]!.GetValue<string>().Should().Be("ACCEPT");
        (await app.ReadAsync("task", task))["flow_run_run_count"]!.GetValue<int>().Should().Be(1, "the count the lock read was recorded");
    }
}
