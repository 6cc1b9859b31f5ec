using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Api;

/// <summary>State histories: every validated state of a run, oldest first.</summary>
public static class StatesApi
{
    public static IEndpointRouteBuilder MapStatesApi(this IEndpointRouteBuilder routes)
    {
        var flowRunStates = routes.MapGroup("/api/flow_run_states").WithTags("Flow run states");
        flowRunStates.MapGet("/{id}", ReadFlowRunState).WithSummary("Read a flow run state by id.");
        flowRunStates.MapGet("/", ListFlowRunStates).WithSummary("The state history of a flow run.");
        var taskRunStates = routes.MapGroup("/api/task_run_states").WithTags("Task run states");
        taskRunStates.MapGet("/{id}", ReadTaskRunState).WithSummary("Read a task run state by id.");
        taskRunStates.MapGet("/", ListTaskRunStates).WithSummary("The state history of a task run.");
        return routes;
    }

    public static async Task<Results<Ok<State>, NotFound<Detail>>> ReadFlowRunState(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var row = await db.FlowRunStates.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        return row is null ? ErrorBodies.NotFound("Flow run state not found") : TypedResults.Ok(row.ToState());
    }

    // The task endpoint's message says "Flow run state", as 2.7.0's does.
    public static async Task<Results<Ok<State>, NotFound<Detail>>> ReadTaskRunState(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var row = await db.TaskRunStates.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        return row is null ? ErrorBodies.NotFound("Flow run state not found") : TypedResults.Ok(row.ToState());
    }

    public static async Task<Ok<List<State>>> ListFlowRunStates(Guid flow_run_id, OrchestratorDbContext db, CancellationToken ct)
    {
        var rows = await db.FlowRunStates.AsNoTracking().Where(s => s.FlowRunId == flow_run_id)
            .OrderBy(s => s.Timestamp).ToListAsync(ct);
        return TypedResults.Ok(rows.Select(s => s.ToState()).ToList());
    }

    public static async Task<Ok<List<State>>> ListTaskRunStates(Guid task_run_id, OrchestratorDbContext db, CancellationToken ct)
    {
        var rows = await db.TaskRunStates.AsNoTracking().Where(s => s.TaskRunId == task_run_id)
            .OrderBy(s => s.Timestamp).ToListAsync(ct);
        return TypedResults.Ok(rows.Select(s => s.ToState()).ToList());
    }
}
