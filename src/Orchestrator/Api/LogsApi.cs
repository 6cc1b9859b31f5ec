using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class LogsApi
{
    public static RouteGroupBuilder MapLogsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/logs").WithTags("Logs");
        group.MapPost("/", CreateLogs).Produces(StatusCodes.Status201Created).WithSummary("Store a batch of log records.");
        group.MapPost("/filter", FilterLogs).WithSummary("List log records matching the filters.");
        return group;
    }

    /// <summary>Stores a batch of log records: all of them, or none when any is malformed (422). 201, no body.</summary>
    public static async Task<StatusCodeHttpResult> CreateLogs(LogBatch body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        db.Logs.AddRange(body.Logs.Select(l => new Log
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = l.Name,
            Level = l.Level,
            Message = l.Message,
            Timestamp = l.Timestamp,
            FlowRunId = l.FlowRunId,
            TaskRunId = l.TaskRunId,
        }));
        await db.SaveChangesAsync(ct);
        return TypedResults.StatusCode(StatusCodes.Status201Created);
    }

    public static async Task<Results<Ok<List<LogResponse>>, UnprocessableEntity<Detail>>> FilterLogs(
        LogFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var logs = db.Logs.AsNoTracking();
        if (body.Logs is not null)
        {
            logs = logs.Where(body.Logs);
        }

        logs = body.Sort == "TIMESTAMP_DESC"
            ? logs.OrderByDescending(l => l.Timestamp).ThenByDescending(l => l.Id)
            : logs.OrderBy(l => l.Timestamp).ThenBy(l => l.Id);
        var page = await body.Paging.Apply(logs).ToListAsync(ct);
        return TypedResults.Ok(page.Select(l => l.ToResponse()).ToList());
    }
}
