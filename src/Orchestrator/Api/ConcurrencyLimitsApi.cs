using Orchestrator.Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class ConcurrencyLimitsApi
{
    public static RouteGroupBuilder MapConcurrencyLimitsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/concurrency_limits").WithTags("Concurrency limits");
        group.MapPost("/", UpsertLimit).WithSummary("Create or resize the concurrency limit of a tag.");
        group.MapGet("/{id}", ReadLimit).WithSummary("Read a concurrency limit by id.");
        group.MapGet("/tag/{tag}", ReadLimitByTag).WithSummary("Read the concurrency limit of a tag.");
        group.MapPost("/filter", FilterLimits).WithSummary("List concurrency limits.");
        group.MapDelete("/{id}", DeleteLimit).RequireScope(ApiScope.Admin).Produces<object>(StatusCodes.Status200OK).Produces<Detail>(StatusCodes.Status404NotFound).WithSummary("Delete a concurrency limit by id.");
        group.MapDelete("/tag/{tag}", DeleteLimitByTag).RequireScope(ApiScope.Admin).Produces<object>(StatusCodes.Status200OK).Produces<Detail>(StatusCodes.Status404NotFound).WithSummary("Delete the concurrency limit of a tag.");
        group.MapPost("/tag/{tag}/reset", ResetLimit).RequireScope(ApiScope.Admin).Produces<object>(StatusCodes.Status200OK).Produces<Detail>(StatusCodes.Status404NotFound)
            .WithSummary("Give back every slot of a tag's limit (or keep only slot_override), for an operator; the runs' states are untouched.");
        return group;
    }

    /// <summary>
    /// Prefect's later <c>reset</c>: the limit's slots become <c>slot_override</c>, or none. For an operator
    /// who knows the holders are gone and will not wait for the reaper. 200 with a null body, as Prefect.
    /// </summary>
    public static async Task<IResult> ResetLimit(string tag, ConcurrencyLimitReset body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        bool found = await db.InTransactionAsync(async () =>
        {
            var limit = (await ConcurrencySlots.LockLimitsAsync(db, [tag], ct)).SingleOrDefault();
            if (limit is null)
            {
                return false;
            }

            limit.ActiveSlots = body.SlotOverride?.Distinct().ToList() ?? [];
            limit.Updated = time.UtcNow();
            await db.SaveChangesAsync(ct);
            return true;
        }, ct);
        return found ? TypedResults.Text("null", "application/json") : ErrorBodies.NotFound("Concurrency limit not found");
    }

    /// <summary>
    /// Creates the limit for a tag or changes an existing one's size, keeping its id and the slots held.
    /// Always 200, as 2.7.0 answers (its 201 branch is unreachable).
    /// </summary>
    public static async Task<Ok<ConcurrencyLimitResponse>> UpsertLimit(
        ConcurrencyLimitCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var limit = await db.InTransactionAsync(async () =>
        {
            DateTime now = time.UtcNow();
            var locked = await ConcurrencySlots.LockLimitsAsync(db, [body.Tag], ct);
            var existing = locked.SingleOrDefault();
            if (existing is null)
            {
                existing = new ConcurrencyLimit { Id = Ids.New(), Created = now, Tag = body.Tag };
                db.ConcurrencyLimits.Add(existing);
            }

            existing.Limit = body.ConcurrencyLimit;
            existing.Updated = now;
            await db.SaveChangesAsync(ct);
            return existing;
        }, ct);
        return TypedResults.Ok(limit.ToResponse());
    }

    public static async Task<Results<Ok<ConcurrencyLimitResponse>, NotFound<Detail>>> ReadLimit(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var limit = await db.ConcurrencyLimits.AsNoTracking().FirstOrDefaultAsync(l => l.Id == id, ct);
        return limit is null ? ErrorBodies.NotFound("Concurrency limit not found") : TypedResults.Ok(limit.ToResponse());
    }

    public static async Task<Results<Ok<ConcurrencyLimitResponse>, NotFound<Detail>>> ReadLimitByTag(string tag, OrchestratorDbContext db, CancellationToken ct)
    {
        var limit = await db.ConcurrencyLimits.AsNoTracking().FirstOrDefaultAsync(l => l.Tag == tag, ct);
        return limit is null ? ErrorBodies.NotFound("Concurrency limit not found") : TypedResults.Ok(limit.ToResponse());
    }

    public static async Task<Results<Ok<List<ConcurrencyLimitResponse>>, UnprocessableEntity<Detail>>> FilterLimits(
        Paging body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var limits = await body.Apply(db.ConcurrencyLimits.AsNoTracking().OrderBy(l => l.Tag)).ToListAsync(ct);
        return TypedResults.Ok(limits.Select(l => l.ToResponse()).ToList());
    }

    // 2.7.0 answers a successful delete with 200 and a null body, not 204.
    public static async Task<IResult> DeleteLimit(Guid id, OrchestratorDbContext db, CancellationToken ct) =>
        Deleted(await db.ConcurrencyLimits.Where(l => l.Id == id).ExecuteDeleteAsync(ct));

    public static async Task<IResult> DeleteLimitByTag(string tag, OrchestratorDbContext db, CancellationToken ct) =>
        Deleted(await db.ConcurrencyLimits.Where(l => l.Tag == tag).ExecuteDeleteAsync(ct));

    private static IResult Deleted(int rows) =>
        rows > 0 ? TypedResults.Text("null", "application/json") : ErrorBodies.NotFound("Concurrency limit not found");
}
