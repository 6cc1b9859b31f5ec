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
        group.MapPost("/", UpsertLimit).AcceptsJson<ConcurrencyLimitCreate>();
        group.MapGet("/{id}", ReadLimit);
        group.MapGet("/tag/{tag}", ReadLimitByTag);
        group.MapPost("/filter", FilterLimits);
        group.MapDelete("/{id}", DeleteLimit);
        group.MapDelete("/tag/{tag}", DeleteLimitByTag);
        return group;
    }

    /// <summary>
    /// Creates the limit for a tag or changes an existing one's size, keeping its id and the slots held.
    /// Always 200, as 2.7.0 answers (its 201 branch is unreachable).
    /// </summary>
    public static async Task<Ok<ConcurrencyLimitResponse>> UpsertLimit(
        HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, ConcurrencyLimitCreate.Read, forbidExtra: true);
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

    public static async Task<IResult> FilterLimits(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var paging = await RequestBody.ReadAsync(request, Paging.Read, forbidExtra: false);
        if (paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var limits = await paging.Apply(db.ConcurrencyLimits.AsNoTracking().OrderBy(l => l.Tag)).ToListAsync(ct);
        return TypedResults.Ok(limits.Select(l => l.ToResponse()));
    }

    // 2.7.0 answers a successful delete with 200 and a null body, not 204.
    public static async Task<IResult> DeleteLimit(Guid id, OrchestratorDbContext db, CancellationToken ct) =>
        Deleted(await db.ConcurrencyLimits.Where(l => l.Id == id).ExecuteDeleteAsync(ct));

    public static async Task<IResult> DeleteLimitByTag(string tag, OrchestratorDbContext db, CancellationToken ct) =>
        Deleted(await db.ConcurrencyLimits.Where(l => l.Tag == tag).ExecuteDeleteAsync(ct));

    private static IResult Deleted(int rows) =>
        rows > 0 ? TypedResults.Text("null", "application/json") : ErrorBodies.NotFound("Concurrency limit not found");
}
