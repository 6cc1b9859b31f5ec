using System.Text.Json.Nodes;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>The calls tests make over and over, as a Prefect client would make them.</summary>
public static class ApiCalls
{
    public static async Task<Guid> CreateFlowAsync(this TestApp app, string name = "my-flow")
    {
        var (status, body) = await app.PostAsync("/api/flows/", new { name });
        status.Should().BeOneOf(200, 201);
        return IdOf(body);
    }

    public static async Task<JsonNode> CreateFlowRunAsync(this TestApp app, Guid? flowId = null, object? state = null, object? extra = null)
    {
        flowId ??= await app.CreateFlowAsync();
        var body = Merge(new JsonObject { ["flow_id"] = flowId.ToString() }, extra);
        if (state is not null)
        {
            body["state"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(state));
        }

        var (status, run) = await app.PostAsync("/api/flow_runs/", body.ToJsonString());
        status.Should().BeOneOf(200, 201);
        return run!;
    }

    public static async Task<JsonNode> CreateTaskRunAsync(
        this TestApp app, Guid? flowRunId = null, object? state = null, object? extra = null, string taskKey = "my-task", string? dynamicKey = null)
    {
        flowRunId ??= IdOf(await app.CreateFlowRunAsync());
        var body = Merge(new JsonObject
        {
            ["flow_run_id"] = flowRunId.ToString(),
            ["task_key"] = taskKey,
            ["dynamic_key"] = dynamicKey ?? Guid.NewGuid().ToString("N"),
        }, extra);
        if (state is not null)
        {
            body["state"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(state));
        }

        var (status, run) = await app.PostAsync("/api/task_runs/", body.ToJsonString());
        status.Should().BeOneOf(200, 201);
        return run!;
    }

    /// <summary>Proposes a state; <paramref name="state"/> is an anonymous object in the wire shape.</summary>
    public static Task<(int Status, JsonNode? Body)> SetStateAsync(this TestApp app, string kind, Guid runId, object state, bool force = false) =>
        app.PostAsync($"/api/{kind}_runs/{runId}/set_state", new { state, force });

    public static Task<(int Status, JsonNode? Body)> SetFlowRunStateAsync(this TestApp app, Guid runId, object state, bool force = false) =>
        app.SetStateAsync("flow", runId, state, force);

    public static Task<(int Status, JsonNode? Body)> SetTaskRunStateAsync(this TestApp app, Guid runId, object state, bool force = false) =>
        app.SetStateAsync("task", runId, state, force);

    public static async Task<JsonNode> ReadAsync(this TestApp app, string kind, Guid id)
    {
        var (status, body) = await app.GetAsync($"/api/{kind}_runs/{id}");
        status.Should().Be(200);
        return body!;
    }

    public static async Task<Guid> CreateLimitAsync(this TestApp app, string tag, int limit)
    {
        var (status, body) = await app.PostAsync("/api/concurrency_limits/", new { tag, concurrency_limit = limit });
        status.Should().Be(200);
        return IdOf(body);
    }

    public static async Task<List<Guid>> ActiveSlotsAsync(this TestApp app, string tag)
    {
        var (status, body) = await app.GetAsync($"/api/concurrency_limits/tag/{Uri.EscapeDataString(tag)}");
        status.Should().Be(200);
        return body!["active_slots"]!.AsArray().Select(s => Guid.Parse(s!.GetValue<string>())).ToList();
    }

    public static Guid IdOf(JsonNode? node) => Guid.Parse(node!["id"]!.GetValue<string>());

    public static string? Str(this JsonNode? node, string key) => node?[key]?.GetValue<string>();

    /// <summary>A timestamp in the wire format, for states and filters.</summary>
    public static string Iso(DateTime time) => Orchestrator.Infrastructure.Json.FormatTimestamp(time);

    private static JsonObject Merge(JsonObject target, object? extra)
    {
        if (extra is not null)
        {
            foreach (var (key, value) in JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject())
            {
                target[key] = value?.DeepClone();
            }
        }

        return target;
    }
}
