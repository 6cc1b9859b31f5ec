using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;

namespace Orchestrator.Api;

/// <summary>Health, version and the database administration endpoints.</summary>
public static class AdminApi
{
    public const string ServerVersion = "2.7.0";

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/health", () => TypedResults.Json(true)).WithTags("Admin");
        routes.MapGet("/api/hello", () => TypedResults.Json("👋")).WithTags("Admin");
        var admin = routes.MapGroup("/api/admin").WithTags("Admin");
        admin.MapGet("/version", () => TypedResults.Json(ServerVersion));
        admin.MapPost("/database/clear", ClearDatabase);
        admin.MapPost("/database/drop", ClearDatabase);
        admin.MapPost("/database/create", CreateDatabase);
        return routes;
    }

    /// <summary>
    /// Deletes every row of every table, then registers the built-in block types again as a fresh
    /// server has them; only with <c>{"confirm": true}</c>.
    /// </summary>
    public static async Task<IResult> ClearDatabase(HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (!await ConfirmedAsync(request))
        {
            return Results.StatusCode(400);
        }

        await db.InTransactionAsync(async () =>
        {
            await db.TaskRunStateCache.ExecuteDeleteAsync(ct);
            await db.ConcurrencyLimits.ExecuteDeleteAsync(ct);
            await db.Flows.ExecuteDeleteAsync(ct);
            await db.Logs.ExecuteDeleteAsync(ct);
            await db.BlockTypes.ExecuteDeleteAsync(ct);
            return true;
        }, ct);
        await BuiltinBlocks.RegisterAsync(db, time, ct);
        return Results.NoContent();
    }

    /// <summary>The schema is created by the migrations at start-up; this only checks the confirmation.</summary>
    public static async Task<IResult> CreateDatabase(HttpRequest request)
    {
        return await ConfirmedAsync(request) ? Results.NoContent() : Results.StatusCode(400);
    }

    private static async Task<bool> ConfirmedAsync(HttpRequest request)
    {
        try
        {
            return await RequestBody.ReadAsync(request, r => r.Bool("confirm") ?? false, forbidExtra: false);
        }
        catch (RequestValidationException)
        {
            return false;
        }
    }
}
