using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;

namespace Orchestrator.Api;

/// <summary>Health, version and the database administration endpoints.</summary>
public static class AdminApi
{
    public const string ServerVersion = "2.7.0";

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/health", () => TypedResults.Ok(true)).WithTags("Admin").WithSummary("Whether the server is up.");
        routes.MapGet("/api/hello", () => TypedResults.Ok("👋")).WithTags("Admin").WithSummary("A friendly greeting, for connectivity checks.");
        var admin = routes.MapGroup("/api/admin").WithTags("Admin");
        admin.MapGet("/version", () => TypedResults.Ok(ServerVersion)).WithSummary("The Prefect server version this server speaks.");
        admin.MapPost("/database/clear", ClearDatabase).WithSummary("Delete every row of every table (requires {\"confirm\": true}).");
        admin.MapPost("/database/drop", ClearDatabase).WithSummary("Same as clear: the schema itself stays, owned by the migrations.");
        admin.MapPost("/database/create", CreateDatabase).WithSummary("Check the confirmation; the schema is created by migrations at start-up.");
        return routes;
    }

    /// <summary>
    /// Deletes every row of every table, then registers the built-in block types again as a fresh
    /// server has them; only with <c>{"confirm": true}</c>.
    /// </summary>
    public static async Task<Results<NoContent, BadRequest>> ClearDatabase(
        DatabaseConfirmation body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (!body.Confirm)
        {
            return TypedResults.BadRequest();
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
        return TypedResults.NoContent();
    }

    /// <summary>The schema is created by the migrations at start-up; this only checks the confirmation.</summary>
    public static Results<NoContent, BadRequest> CreateDatabase(DatabaseConfirmation body) =>
        body.Confirm ? TypedResults.NoContent() : TypedResults.BadRequest();
}
