using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>Work queues: what agents poll for runs to start (server-services.md §2).</summary>
public static class WorkQueuesApi
{
    public static RouteGroupBuilder MapWorkQueuesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/work_queues").WithTags("Work queues");
        group.MapPost("/", CreateWorkQueue).WithSummary("Create a work queue.");
        group.MapGet("/{id}", ReadWorkQueue).WithSummary("Read a work queue by id.");
        group.MapGet("/name/{name}", ReadWorkQueueByName).WithSummary("Read a work queue by name.");
        group.MapPatch("/{id}", UpdateWorkQueue).WithSummary("Update a work queue's settings.");
        group.MapDelete("/{id}", DeleteWorkQueue).WithSummary("Delete a work queue (its runs are kept).");
        group.MapPost("/filter", FilterWorkQueues).WithSummary("List work queues matching the filter.");
        group.MapPost("/{id}/get_runs", GetRuns).WithSummary("The scheduled runs an agent polling this queue should start.")
            .Produces<ExceptionMessage>(StatusCodes.Status404NotFound);
        group.MapGet("/{id}/status", ReadStatus).WithSummary("Whether the queue is healthy: polled lately and without late runs.")
            .Produces<ExceptionMessage>(StatusCodes.Status404NotFound);
        return group;
    }

    public static async Task<Results<Created<WorkQueueResponse>, Conflict<Detail>>> CreateWorkQueue(
        WorkQueueCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        var queue = new WorkQueue
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = body.Name,
            Description = body.Description,
            IsPaused = body.IsPaused,
            ConcurrencyLimit = body.ConcurrencyLimit,
            Filter = body.Filter?.ToJson(),
        };
        return await db.TryInsertAsync(queue, ct)
            ? TypedResults.Created((string?)null, queue.ToResponse())
            : ErrorBodies.Conflict("A work queue with this name already exists.");
    }

    public static async Task<Results<Ok<WorkQueueResponse>, NotFound<Detail>>> ReadWorkQueue(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var queue = await db.WorkQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Id == id, ct);
        return queue is null ? ErrorBodies.NotFound("work queue not found") : TypedResults.Ok(queue.ToResponse());
    }

    public static async Task<Results<Ok<WorkQueueResponse>, NotFound<Detail>>> ReadWorkQueueByName(string name, OrchestratorDbContext db, CancellationToken ct)
    {
        var queue = await db.WorkQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Name == name, ct);
        return queue is null ? ErrorBodies.NotFound("work queue not found") : TypedResults.Ok(queue.ToResponse());
    }

    /// <summary>Writes the keys present; a rename to a taken name is a conflict (decision D11: the 404 names the queue).</summary>
    public static async Task<Results<NoContent, NotFound<Detail>, Conflict<Detail>>> UpdateWorkQueue(
        Guid id, WorkQueueUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var queue = await db.WorkQueues.FirstOrDefaultAsync(q => q.Id == id, ct);
        if (queue is null)
        {
            return ErrorBodies.NotFound("Work queue not found");
        }

        if (body.Sent.Contains("name"))
        {
            if (body.Name is null)
            {
                return ErrorBodies.IntegrityConflict();
            }

            queue.Name = body.Name;
        }

        if (body.Sent.Contains("description"))
        {
            if (body.Description is null)
            {
                return ErrorBodies.IntegrityConflict();
            }

            queue.Description = body.Description;
        }

        queue.IsPaused = body.IsPaused ?? queue.IsPaused;
        queue.ConcurrencyLimit = body.Sent.Contains("concurrency_limit") ? body.ConcurrencyLimit : queue.ConcurrencyLimit;
        queue.LastPolled = body.Sent.Contains("last_polled") ? body.LastPolled : queue.LastPolled;
        queue.Filter = body.Sent.Contains("filter") ? body.Filter?.ToJson() : queue.Filter;
        queue.Updated = time.UtcNow();
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException error) when (error.IsUniqueViolation())
        {
            return ErrorBodies.IntegrityConflict();
        }

        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteWorkQueue(Guid id, OrchestratorDbContext db, CancellationToken ct) =>
        await db.WorkQueues.Where(q => q.Id == id).ExecuteDeleteAsync(ct) > 0
            ? TypedResults.NoContent()
            : ErrorBodies.NotFound("work queue not found");

    /// <summary>By name, ascending; <c>any_</c> is exact, <c>startswith_</c> a case-insensitive prefix.</summary>
    public static async Task<Results<Ok<List<WorkQueueResponse>>, UnprocessableEntity<Detail>>> FilterWorkQueues(
        WorkQueueFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var queues = db.WorkQueues.AsNoTracking();
        if (body.NameAny is { } names)
        {
            queues = queues.Where(q => names.Contains(q.Name));
        }

        if (body.NameStartsWith is { Count: > 0 } prefixes)
        {
            var matching = FilterSet.AnyPrefix<WorkQueue>(q => q.Name, prefixes);
            queues = queues.Where(matching);
        }

        var page = await body.Paging.Apply(queues.OrderBy(q => q.Name).ThenBy(q => q.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(q => q.ToResponse()).ToList());
    }

    /// <summary>
    /// The queue's SCHEDULED runs due before <c>scheduled_before</c>, soonest first, no more than its
    /// concurrency limit leaves room for; a paused queue hands out nothing. Nothing is claimed: the
    /// agent's PENDING proposal does that, and the queue's limit is enforced there too (decision D8).
    /// </summary>
    public static async Task<Results<Ok<List<FlowRunResponse>>, NotFound<ExceptionMessage>, UnprocessableEntity<Detail>>> GetRuns(
        Guid id, GetRunsRequest body, HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var queue = await db.WorkQueues.FirstOrDefaultAsync(q => q.Id == id, ct);
        if (queue is null)
        {
            return ErrorBodies.MissingObject($"Work queue with id {id} not found.");
        }

        var runs = await WorkQueueRuns.DueAsync(db, queue, body.ScheduledBefore, body.Paging.Limit, ct);
        DateTime now = time.UtcNow();
        if (!string.Equals(request.Headers["X-PREFECT-UI"], "true", StringComparison.OrdinalIgnoreCase))
        {
            queue.LastPolled = now;
            queue.Updated = now;
            await db.SaveChangesAsync(ct);
        }

        return TypedResults.Ok(runs.Select(r => r.ToResponse(now)).ToList());
    }

    public static async Task<Results<Ok<WorkQueueStatusResponse>, NotFound<ExceptionMessage>>> ReadStatus(
        Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var queue = await db.WorkQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Id == id, ct);
        if (queue is null)
        {
            return ErrorBodies.MissingObject($"Work queue with id {id} not found");
        }

        int late = await db.FlowRuns.CountAsync(r => r.WorkQueueName == queue.Name && r.StateName == "Late", ct);
        var policy = new WorkQueueHealthPolicy(MaximumLateRuns: 0, MaximumSecondsSinceLastPolled: 60);
        bool recentlyPolled = queue.LastPolled is { } polled
            && Math.Truncate((time.UtcNow() - polled).TotalSeconds) <= policy.MaximumSecondsSinceLastPolled;
        return TypedResults.Ok(new WorkQueueStatusResponse(late <= policy.MaximumLateRuns && recentlyPolled, late, queue.LastPolled, policy));
    }
}
