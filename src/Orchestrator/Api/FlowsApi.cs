using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class FlowsApi
{
    private static readonly string[] Sorts = ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"];

    public static RouteGroupBuilder MapFlowsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/flows").WithTags("Flows");
        group.MapPost("/", CreateFlow).AcceptsJson<FlowCreate>();
        group.MapGet("/{id}", ReadFlow);
        group.MapGet("/name/{name}", ReadFlowByName);
        group.MapPatch("/{id}", UpdateFlow).AcceptsJson<FlowUpdate>();
        group.MapDelete("/{id}", DeleteFlow);
        group.MapPost("/filter", FilterFlows);
        group.MapPost("/count", CountFlows);
        return group;
    }

    /// <summary>Creates a flow, or returns the existing one of that name unchanged (200).</summary>
    public static async Task<Results<Created<FlowResponse>, Ok<FlowResponse>>> CreateFlow(
        HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, FlowCreate.Read, forbidExtra: true);
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
        Guid id, HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, FlowUpdate.Read, forbidExtra: true);
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
            await Cascades.DetachSubflowsAsync(db, db.TaskRuns.Where(t => db.FlowRuns.Any(r => r.Id == t.FlowRunId && r.FlowId == id)), ct);
            return await db.Flows.Where(f => f.Id == id).ExecuteDeleteAsync(ct) > 0;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Flow not found");
    }

    public static async Task<IResult> FilterFlows(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var filter = await RequestBody.ReadAsync(request, r => ReadFilter(r, db), forbidExtra: false);
        if (filter.Paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var flows = Sort(filter.Filters.ApplyTo(db.Flows.AsNoTracking(), db), filter.Sort);
        var page = await filter.Paging.Apply(flows).ToListAsync(ct);
        return TypedResults.Ok(page.Select(f => f.ToResponse()));
    }

    public static async Task<Ok<int>> CountFlows(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var filters = await RequestBody.ReadAsync(request, r => FilterSet.Read(r, db), forbidExtra: false);
        return TypedResults.Ok(await filters.ApplyTo(db.Flows, db).CountAsync(ct));
    }

    private static FilterRequest ReadFilter(JsonObjectReader r, OrchestratorDbContext db) =>
        new(FilterSet.Read(r, db), r.Enum("sort", Sorts), Paging.Read(r));

    private static IQueryable<Flow> Sort(IQueryable<Flow> flows, string? sort) => sort switch
    {
        "NAME_DESC" => flows.OrderByDescending(f => f.Name).ThenBy(f => f.Id),
        "CREATED_DESC" => flows.OrderByDescending(f => f.Created).ThenBy(f => f.Id),
        "UPDATED_DESC" => flows.OrderByDescending(f => f.Updated).ThenBy(f => f.Id),
        _ => flows.OrderBy(f => f.Name).ThenBy(f => f.Id),
    };
}
