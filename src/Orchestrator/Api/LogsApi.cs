using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class LogsApi
{
    private static readonly string[] Sorts = ["TIMESTAMP_ASC", "TIMESTAMP_DESC"];

    public static RouteGroupBuilder MapLogsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/logs").WithTags("Logs");
        group.MapPost("/", CreateLogs).AcceptsJson<List<LogCreate>>();
        group.MapPost("/filter", FilterLogs);
        return group;
    }

    /// <summary>Stores a batch of log records: all of them, or none when any is malformed (422). 201, no body.</summary>
    public static async Task<IResult> CreateLogs(HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var batch = await RequestBody.ReadListAsync(request, LogCreate.Read, forbidExtra: true);
        DateTime now = time.UtcNow();
        db.Logs.AddRange(batch.Select(l => new Log
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
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    public static async Task<IResult> FilterLogs(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var (filter, sort, paging) = await RequestBody.ReadAsync(request, r => (
            r.Nested("logs", FilterSet.LogFilter, forbidExtra: true),
            r.Enum("sort", Sorts),
            Paging.Read(r)), forbidExtra: false);
        if (paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var logs = db.Logs.AsNoTracking();
        if (filter is not null)
        {
            logs = logs.Where(filter);
        }

        logs = sort == "TIMESTAMP_DESC"
            ? logs.OrderByDescending(l => l.Timestamp).ThenByDescending(l => l.Id)
            : logs.OrderBy(l => l.Timestamp).ThenBy(l => l.Id);
        var page = await paging.Apply(logs).ToListAsync(ct);
        return TypedResults.Ok(page.Select(l => l.ToResponse()));
    }
}
