using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>Arranging runs in exact conditions, and proposing states with a chosen policy.</summary>
public static class Scenarios
{
    public static readonly string[] Kinds = ["flow", "task"];

    /// <summary>A run of either kind, created through the API with the given (forced) initial state.</summary>
    public static async Task<Guid> RunInStateAsync(this TestApp app, string kind, object? state = null, object? extra = null)
    {
        JsonNode run = kind == "flow"
            ? await app.CreateFlowRunAsync(state: state, extra: extra)
            : await app.CreateTaskRunAsync(state: state, extra: extra);
        return ApiCalls.IdOf(run);
    }

    /// <summary>A run with no state at all, as only code below the API can make one.</summary>
    public static async Task<Guid> StatelessRunAsync(this TestApp app, string kind)
    {
        Guid flowId = await app.CreateFlowAsync($"stateless-{Guid.NewGuid():N}");
        Guid id = Guid.NewGuid();
        await app.WithDbAsync(async db =>
        {
            DateTime now = DateTime.UtcNow;
            var flowRun = new FlowRun { Id = kind == "flow" ? id : Guid.NewGuid(), Created = now, Updated = now, Name = "no-state", FlowId = flowId };
            db.FlowRuns.Add(flowRun);
            if (kind == "task")
            {
                db.TaskRuns.Add(new TaskRun { Id = id, Created = now, Updated = now, Name = "no-state", FlowRunId = flowRun.Id, TaskKey = "k", DynamicKey = "0" });
            }

            await db.SaveChangesAsync();
        });
        return id;
    }

    public static Task UpdateFlowRunAsync(this TestApp app, Guid id, Action<FlowRun> change) =>
        app.WithDbAsync(async db =>
        {
            change(await db.FlowRuns.SingleAsync(r => r.Id == id));
            await db.SaveChangesAsync();
        });

    public static Task UpdateTaskRunAsync(this TestApp app, Guid id, Action<TaskRun> change) =>
        app.WithDbAsync(async db =>
        {
            change(await db.TaskRuns.SingleAsync(r => r.Id == id));
            await db.SaveChangesAsync();
        });

    public static Task UpdateRunAsync(this TestApp app, string kind, Guid id, Action<Run> change) =>
        kind == "flow" ? app.UpdateFlowRunAsync(id, change) : app.UpdateTaskRunAsync(id, change);

    public static Task<TaskRun> TaskRunAsync(this TestApp app, Guid id) =>
        app.WithDbAsync(db => db.TaskRuns.AsNoTracking().SingleAsync(r => r.Id == id));

    public static Task<FlowRun> FlowRunAsync(this TestApp app, Guid id) =>
        app.WithDbAsync(db => db.FlowRuns.AsNoTracking().SingleAsync(r => r.Id == id));

    public static async Task<Run> RunAsync(this TestApp app, string kind, Guid id) =>
        kind == "flow" ? await app.FlowRunAsync(id) : await app.TaskRunAsync(id);

    /// <summary>Proposes a state through the state changer with the given policy, as one unit.</summary>
    public static async Task<OrchestrationResult> ProposeAsync(
        this TestApp app, string kind, Guid id, State state, OrchestrationPolicy policy, Version? clientApiVersion = null)
    {
        await using var scope = app.Scope();
        var changer = scope.ServiceProvider.GetRequiredService<RunStateChanger>();
        return kind == "flow"
            ? await changer.SetFlowRunStateAsync(id, state, policy, clientApiVersion, CancellationToken.None)
            : await changer.SetTaskRunStateAsync(id, state, policy, CancellationToken.None);
    }

    public static State Proposal(StateType type, string? name = null, StateDetails? details = null) => new()
    {
        Id = Guid.Empty,
        Type = type,
        Name = name ?? type.DefaultName(),
        Timestamp = default,
        StateDetails = details ?? new StateDetails(),
    };

    /// <summary>A SCHEDULED state body due at <paramref name="at"/>.</summary>
    public static object Scheduled(DateTime at, string? name = null) =>
        name is null
            ? new { type = "SCHEDULED", state_details = new { scheduled_time = ApiCalls.Iso(at) } }
            : new { type = "SCHEDULED", name, state_details = new { scheduled_time = ApiCalls.Iso(at) } };

    /// <summary>A task run completed with a cache key; returns the id of its COMPLETED state.</summary>
    public static async Task<Guid> CompleteWithKeyAsync(TestApp app, string key, DateTime? expiration, object? data = null)
    {
        var task = await app.CreateTaskRunAsync(state: new { type = "RUNNING" });
        var (_, result) = await app.SetTaskRunStateAsync(ApiCalls.IdOf(task), new
        {
            type = "COMPLETED",
            data = data ?? new { result = "cached!" },
            state_details = new { cache_key = key, cache_expiration = expiration is { } e ? ApiCalls.Iso(e) : null },
        });
        ApiCalls.Str(result, "status").Should().Be("ACCEPT");
        return Guid.Parse(ApiCalls.Str(result!["state"], "id")!);
    }

    public static OrchestrationPolicy Policy(params Func<OrchestrationRule>[] rules) => new("TestPolicy", rules);

    public static string Wire(this StateType type) => type.ToWire();

    public static double Seconds(this JsonNode? node, string key) => node![key]!.GetValue<double>();
}
