using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Client;

/// <summary>A task's code: told which attempt this is, it succeeds or throws.</summary>
public delegate void TaskBody(int attempt);

public sealed record TaskOptions(int Retries = 0, int RetryDelaySeconds = 0, string? CacheKey = null, string[]? Tags = null);

/// <summary>Thrown by task and flow bodies to fail an attempt, as user code raising an exception.</summary>
public sealed class UserCodeFailed(string message) : Exception(message);

/// <summary>
/// Drives the API the way the Prefect 2.7 client's engine does (as the recording shows): runs are created
/// with a PENDING state, then RUNNING is proposed; WAIT means sleep and propose again (the manual clock is
/// moved instead of sleeping), ABORT means read the run and take its state, a REJECT into AwaitingRetry
/// means propose RUNNING again and re-run the code, a REJECT into a final state is the result.
/// </summary>
public sealed class PrefectClientDriver(TestApp app, ManualClock clock)
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _waits = new();

    /// <summary>The reasons of every WAIT the server answered, in order.</summary>
    public IReadOnlyCollection<string> WaitReasons => _waits;

    public async Task<JsonNode> RunFlowAsync(
        Guid flowId, string name, int retries, int retryDelaySeconds, Func<Guid, int, Task> body, Guid? parentTaskRunId = null)
    {
        var (created, run) = await app.PostAsync("/api/flow_runs/", new
        {
            flow_id = flowId,
            name,
            state = new { type = "PENDING" },
            parent_task_run_id = parentTaskRunId,
            parameters = new { },
            empirical_policy = new { max_retries = 0, retry_delay_seconds = 0, retries, retry_delay = retryDelaySeconds },
        });
        created.Should().Be(201);
        Guid id = IdOf(run);
        var state = await ProposeRunningAsync("flow", id, cacheKey: null);
        for (int attempt = 1; state.Str("type") == "RUNNING"; attempt++)
        {
            try
            {
                await body(id, attempt);
                state = await ProposeAsync("flow", id, new { type = "COMPLETED" });
            }
            catch (UserCodeFailed failure)
            {
                state = await ProposeAsync("flow", id, new { type = "FAILED", message = failure.Message });
                if (state.Str("name") == "AwaitingRetry")
                {
                    state = await ProposeRunningAsync("flow", id, cacheKey: null);
                }
            }
        }

        return state;
    }

    public async Task<JsonNode> RunTaskAsync(Guid flowRunId, string taskKey, string dynamicKey, TaskOptions options, TaskBody body)
    {
        Guid id = await CreateTaskRunAsync(flowRunId, taskKey, dynamicKey, options);
        (await app.GetAsync("/api/health")).Status.Should().Be(200);
        var state = await ProposeRunningAsync("task", id, options.CacheKey);
        while (state.Str("type") == "RUNNING")
        {
            int attempt = (await app.ReadAsync("task", id))["run_count"]!.GetValue<int>();
            try
            {
                body(attempt);
                state = await ProposeAsync("task", id, new
                {
                    type = "COMPLETED",
                    data = new { type = "reference", serializer_type = "pickle", storage_key = $"{taskKey}-{dynamicKey}" },
                    state_details = new
                    {
                        cache_key = options.CacheKey,
                        cache_expiration = options.CacheKey is null ? null : Iso(clock.UtcNow.AddHours(1)),
                    },
                });
            }
            catch (UserCodeFailed failure)
            {
                state = await ProposeAsync("task", id, new { type = "FAILED", message = failure.Message });
                if (state.Str("name") == "AwaitingRetry")
                {
                    state = await ProposeRunningAsync("task", id, options.CacheKey);
                }
            }
        }

        return state;
    }

    /// <summary>
    /// A subflow call: a task run in the parent stands for it; when that task run is already final (a
    /// re-run of the parent), the existing child run's state is the result.
    /// </summary>
    public async Task<JsonNode> RunSubflowAsync(Guid parentFlowRunId, Guid childFlowId, string name, Func<Guid, int, Task> body)
    {
        Guid taskRunId = await CreateTaskRunAsync(parentFlowRunId, $"__main__.{name}", "0", new TaskOptions());
        var parentTask = await app.ReadAsync("task", taskRunId);
        if (parentTask.Str("state_type") is "COMPLETED" or "FAILED" or "CANCELLED" or "CRASHED")
        {
            var (_, children) = await app.PostAsync("/api/flow_runs/filter", new { flow_runs = new { parent_task_run_id = new { any_ = new[] { taskRunId } } } });
            return children!.AsArray().Single()!["state"]!.DeepClone();
        }

        return await RunFlowAsync(childFlowId, name, retries: 0, retryDelaySeconds: 0, body, parentTaskRunId: taskRunId);
    }

    private async Task<Guid> CreateTaskRunAsync(Guid flowRunId, string taskKey, string dynamicKey, TaskOptions options)
    {
        var (status, run) = await app.PostAsync("/api/task_runs/", new
        {
            flow_run_id = flowRunId,
            task_key = taskKey,
            dynamic_key = dynamicKey,
            name = $"{taskKey.Split('.').Last()}-{dynamicKey}",
            state = new { type = "PENDING" },
            tags = options.Tags ?? [],
            empirical_policy = new { max_retries = 0, retry_delay_seconds = 0, retries = options.Retries, retry_delay = options.RetryDelaySeconds },
            task_inputs = new { },
        });
        status.Should().BeOneOf(200, 201);
        return IdOf(run);
    }

    /// <summary>Proposes RUNNING until the answer is not WAIT; ABORT yields the run's current state.</summary>
    private async Task<JsonNode> ProposeRunningAsync(string kind, Guid id, string? cacheKey)
    {
        while (true)
        {
            var (_, result) = await app.SetStateAsync(kind, id, new { type = "RUNNING", state_details = new { cache_key = cacheKey } });
            switch (result.Str("status"))
            {
                case "WAIT":
                    _waits.Enqueue(result!["details"].Str("reason")!);
                    clock.Advance(TimeSpan.FromSeconds(result!["details"]!["delay_seconds"]!.GetValue<double>()));
                    await Task.Delay(20);
                    continue;
                case "ABORT":
                    return (await app.ReadAsync(kind, id))["state"]!.DeepClone();
                default:
                    return result!["state"]!.DeepClone();
            }
        }
    }

    private async Task<JsonNode> ProposeAsync(string kind, Guid id, object state)
    {
        var (_, result) = await app.SetStateAsync(kind, id, state);
        result.Str("status").Should().BeOneOf("ACCEPT", "REJECT");
        return result!["state"]!.DeepClone();
    }
}
