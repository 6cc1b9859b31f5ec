using Orchestrator.Api.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Orchestration.Services;
using Microsoft.Extensions.Options;

namespace Orchestrator.Api;

/// <summary>Health, version and the database administration endpoints.</summary>
public static class AdminApi
{
    public const string ServerVersion = "2.7.0";

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/health", () => TypedResults.Ok(true)).AllowAnonymous().WithTags("Admin").WithSummary("Whether the server is up.");
        routes.MapGet("/api/hello", () => TypedResults.Ok("👋")).AllowAnonymous().WithTags("Admin").WithSummary("A friendly greeting, for connectivity checks.");
        var admin = routes.MapGroup("/api/admin").WithTags("Admin").RequireScope(ApiScope.Admin);
        admin.MapGet("/version", () => TypedResults.Ok(ServerVersion)).WithSummary("The Prefect server version this server speaks.");
        admin.MapGet("/settings", ReadSettings).WithSummary("The server's effective settings, by their Prefect names; secrets masked.");
        admin.MapPost("/database/clear", ClearDatabase).WithSummary("Delete every row of every table (requires {\"confirm\": true}).");
        admin.MapPost("/database/drop", ClearDatabase).WithSummary("Same as clear: the schema itself stays, owned by the migrations.");
        admin.MapPost("/database/create", CreateDatabase).WithSummary("Check the confirmation; the schema is created by migrations at start-up.");
        return routes;
    }

    /// <summary>
    /// The settings a Prefect 2.7 client or operator asks about, named as Prefect names them, with this
    /// server's effective values (durations in seconds); the database connection is masked.
    /// </summary>
    public static Ok<SortedDictionary<string, object?>> ReadSettings(IOptions<ServiceOptions> options, IConfiguration configuration)
    {
        var services = options.Value;
        const string Masked = "********";
        return TypedResults.Ok(new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["PREFECT_API_KEY"] = null,
            ["PREFECT_ORION_API_DEFAULT_LIMIT"] = Paging.MaxLimit,
            ["PREFECT_ORION_DATABASE_CONNECTION_URL"] = string.IsNullOrEmpty(configuration.GetConnectionString(DatabaseSetup.ConnectionStringName)) ? null : Masked,
            ["PREFECT_ORION_DATABASE_PASSWORD"] = null,
            ["PREFECT_ORION_SERVICES_SCHEDULER_ENABLED"] = services.Scheduler.Enabled,
            ["PREFECT_ORION_SERVICES_SCHEDULER_LOOP_SECONDS"] = services.Scheduler.LoopSeconds,
            ["PREFECT_ORION_SERVICES_SCHEDULER_DEPLOYMENT_BATCH_SIZE"] = services.Scheduler.DeploymentBatchSize,
            ["PREFECT_ORION_SERVICES_SCHEDULER_MAX_RUNS"] = services.Scheduler.MaxRuns,
            ["PREFECT_ORION_SERVICES_SCHEDULER_MIN_RUNS"] = services.Scheduler.MinRuns,
            ["PREFECT_ORION_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME"] = services.Scheduler.MaxScheduledTimeSeconds,
            ["PREFECT_ORION_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME"] = services.Scheduler.MinScheduledTimeSeconds,
            ["PREFECT_ORION_SERVICES_LATE_RUNS_ENABLED"] = services.LateRuns.Enabled,
            ["PREFECT_ORION_SERVICES_LATE_RUNS_LOOP_SECONDS"] = services.LateRuns.LoopSeconds,
            ["PREFECT_ORION_SERVICES_LATE_RUNS_AFTER_SECONDS"] = services.LateRuns.AfterSeconds,
            ["PREFECT_ORION_SERVICES_FLOW_RUN_NOTIFICATIONS_ENABLED"] = services.Notifications.Enabled,
        });
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
            await db.WorkQueues.ExecuteDeleteAsync(ct);
            await db.SavedSearches.ExecuteDeleteAsync(ct);
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
