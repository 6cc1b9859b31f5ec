using Orchestrator.Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class FlowsApi
{
    public static RouteGroupBuilder MapFlowsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/flows").WithTags("Flows");
        group.MapPost("/", CreateFlow).WithSummary("Create a flow, or return the one of that name.");
        group.MapGet("/{id}", ReadFlow).WithSummary("Read a flow by id.");
        group.MapGet("/name/{name}", ReadFlowByName).WithSummary("Read a flow by name.");
        group.MapPatch("/{id}", UpdateFlow).WithSummary("Update a flow's tags.");
        group.MapDelete("/{id}", DeleteFlow).RequireScope(ApiScope.Admin).WithSummary("Delete a flow with its runs and deployments.");
        group.MapPost("/filter", FilterFlows).WithSummary("List flows matching the filters.");
        group.MapPost("/count", CountFlows).WithSummary("Count flows matching the filters.");
        return group;
    }

    /// <summary>Creates a flow, or returns the existing one of that name unchanged (200).</summary>
    public static async Task<Results<Created<FlowResponse>, Ok<FlowResponse>>> CreateFlow(
        FlowCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var existing = await db.Flows.AsNoTracking().FirstOrDefaultAsync(f => f.Name == body.Name, ct);
        if (existing is not null)
        {
            return TypedResults.Ok(existing.ToResponse());
        }

        DateTime now = time.UtcNow();
        var flow = new Flow { Id = Ids.New(), Created = now, Updated = now, Name = body.Name, Tags = body.Tags };
        if (!await db.TryInsertAsync(flow, ct))
        {
            // Another request created it first: answer as if it had existed.
            return TypedResults.Ok((await db.Flows.AsNoTracking().FirstAsync(f => f.Name == body.Name, ct)).ToResponse());
        }

        return TypedResults.Created((string?)null, flow.ToResponse());
    }

    public static async Task<Results<Ok<FlowResponse>, NotFound<Detail>>> ReadFlow(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var flow = await db.Flows.AsNoTracking().FirstOrDefaultAsync(f => f.Id == id, ct);
        return flow is null ? ErrorBodies.NotFound("Flow not found") : TypedResults.Ok(flow.ToResponse());
    }

    public static async Task<Results<Ok<FlowResponse>, NotFound<Detail>>> ReadFlowByName(string name, OrchestratorDbContext db, CancellationToken ct)
    {
        var flow = await db.Flows.AsNoTracking().FirstOrDefaultAsync(f => f.Name == name, ct);
        return flow is null ? ErrorBodies.NotFound("Flow not found") : TypedResults.Ok(flow.ToResponse());
    }

    public static async Task<Results<NoContent, NotFound<Detail>>> UpdateFlow(
        Guid id, FlowUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var flow = await db.Flows.FirstOrDefaultAsync(f => f.Id == id, ct);
        if (flow is null)
        {
            return ErrorBodies.NotFound("Flow not found");
        }

        if (body.Tags is not null)
        {
            flow.Tags = body.Tags;
        }

        flow.Updated = time.UtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>Deletes the flow with its runs, their task runs and states, and its deployments.</summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteFlow(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        bool deleted = await db.InTransactionAsync(async () =>
        {
            await Cascades.BeforeDeletingTaskRunsAsync(db, db.TaskRuns.Where(t => db.FlowRuns.Any(r => r.Id == t.FlowRunId && r.FlowId == id)), ct);
            return await db.Flows.Where(f => f.Id == id).ExecuteDeleteAsync(ct) > 0;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Flow not found");
    }

    public static async Task<Results<Ok<List<FlowResponse>>, UnprocessableEntity<Detail>>> FilterFlows(
        FlowFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var flows = Sort(body.Filters.ApplyTo(db.Flows.AsNoTracking(), db), body.Sort);
        var page = await body.Paging.Apply(flows).ToListAsync(ct);
        return TypedResults.Ok(page.Select(f => f.ToResponse()).ToList());
    }

    public static async Task<Ok<int>> CountFlows(FilterSet body, OrchestratorDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await body.ApplyTo(db.Flows, db).CountAsync(ct));

    private static IQueryable<Flow> Sort(IQueryable<Flow> flows, string? sort) => sort switch
    {
        "NAME_DESC" => flows.OrderByDescending(f => f.Name).ThenBy(f => f.Id),
        "CREATED_DESC" => flows.OrderByDescending(f => f.Created).ThenBy(f => f.Id),
        "UPDATED_DESC" => flows.OrderByDescending(f => f.Updated).ThenBy(f => f.Id),
        _ => flows.OrderBy(f => f.Name).ThenBy(f => f.Id),
    };
}
