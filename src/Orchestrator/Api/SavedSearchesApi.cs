using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>Saved searches: named UI filter presets (server-services.md §10.1).</summary>
public static class SavedSearchesApi
{
    public static RouteGroupBuilder MapSavedSearchesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/saved_searches").WithTags("Saved searches");
        group.MapPut("/", UpsertSavedSearch).WithSummary("Create a saved search, or replace the filters of the one with that name.");
        group.MapGet("/{id}", ReadSavedSearch).WithSummary("Read a saved search by id.");
        group.MapPost("/filter", FilterSavedSearches).WithSummary("List saved searches by name.");
        group.MapDelete("/{id}", DeleteSavedSearch).WithSummary("Delete a saved search.");
        return group;
    }

    /// <summary>201 for a new name; 200 with the filters replaced (id, created and, as in 2.7.0, updated kept) for an existing one.</summary>
    public static async Task<Results<Created<SavedSearchResponse>, Ok<SavedSearchResponse>>> UpsertSavedSearch(
        SavedSearchCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        return await db.InTransactionAsync<Results<Created<SavedSearchResponse>, Ok<SavedSearchResponse>>>(async () =>
        {
            var existing = await db.SavedSearches.FirstOrDefaultAsync(s => s.Name == body.Name, ct);
            if (existing is not null)
            {
                existing.Filters = body.Filters;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(existing.ToResponse());
            }

            DateTime now = time.UtcNow();
            var search = new SavedSearch { Id = Ids.New(), Created = now, Updated = now, Name = body.Name, Filters = body.Filters };
            db.SavedSearches.Add(search);
            await db.SaveChangesAsync(ct);
            return TypedResults.Created((string?)null, search.ToResponse());
        }, ct);
    }

    public static async Task<Results<Ok<SavedSearchResponse>, NotFound<Detail>>> ReadSavedSearch(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var search = await db.SavedSearches.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        return search is null ? ErrorBodies.NotFound("Saved search not found") : TypedResults.Ok(search.ToResponse());
    }

    public static async Task<Results<Ok<List<SavedSearchResponse>>, UnprocessableEntity<Detail>>> FilterSavedSearches(
        Paging body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var page = await body.Apply(db.SavedSearches.AsNoTracking().OrderBy(s => s.Name).ThenBy(s => s.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(s => s.ToResponse()).ToList());
    }

    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteSavedSearch(Guid id, OrchestratorDbContext db, CancellationToken ct) =>
        await db.SavedSearches.Where(s => s.Id == id).ExecuteDeleteAsync(ct) > 0
            ? TypedResults.NoContent()
            : ErrorBodies.NotFound("Saved search not found");
}
