using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class TaskRunsApi
{
    public static RouteGroupBuilder MapTaskRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/task_runs").WithTags("Task runs");
        group.MapPost("/", CreateTaskRun).WithSummary("Create a task run with its initial state, or return the existing one.");
        group.MapGet("/{id}", ReadTaskRun).WithSummary("Read a task run by id.");
        group.MapDelete("/{id}", DeleteTaskRun).WithSummary("Delete a task run and its states, giving back its slots.");
        group.MapPost("/filter", FilterTaskRuns).WithSummary("List task runs matching the filters.");
        group.MapPost("/count", CountTaskRuns).WithSummary("Count task runs matching the filters.");
        group.MapPost("/history", RunHistory.TaskRunHistory).WithSummary("Runs counted by current state in buckets of their expected start time.");
        group.MapPost("/{id}/set_state", SetTaskRunState).Produces<ExceptionMessage>(StatusCodes.Status404NotFound).WithSummary("Propose a new state for a task run; the orchestration rules decide.");
        return group;
    }

    /// <summary>
    /// Creates a task run unless one with the same (flow run, task key, dynamic key) exists, which is
    /// returned unchanged (200): that is how a retried flow finds its earlier task runs.
    /// </summary>
    public static async Task<Results<Created<TaskRunResponse>, Ok<TaskRunResponse>>> CreateTaskRun(
        TaskRunCreate body, OrchestratorDbContext db, RunStateChanger changer, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        var run = new TaskRun
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = string.IsNullOrEmpty(body.Name) ? Slugs.Random() : body.Name,
            FlowRunId = body.FlowRunId,
            TaskKey = body.TaskKey,
            DynamicKey = body.DynamicKey,
            CacheKey = body.CacheKey,
            CacheExpiration = body.CacheExpiration,
            TaskVersion = body.TaskVersion,
            EmpiricalPolicy = body.EmpiricalPolicy,
            Tags = body.Tags,
            TaskInputs = body.TaskInputs,
        };
        return await changer.TryCreateTaskRunAsync(run, body.State ?? FlowRunsApi.PendingState(), ct)
            ? TypedResults.Created((string?)null, run.ToResponse(time.UtcNow()))
            : TypedResults.Ok((await FindAsync(db, body, ct))!.ToResponse(time.UtcNow()));
    }

    private static Task<TaskRun?> FindAsync(OrchestratorDbContext db, TaskRunCreate body, CancellationToken ct) =>
        db.TaskRuns.AsNoTracking().Include(t => t.State)
            .FirstOrDefaultAsync(t => t.FlowRunId == body.FlowRunId && t.TaskKey == body.TaskKey && t.DynamicKey == body.DynamicKey, ct);

    public static async Task<Results<Ok<TaskRunResponse>, NotFound<Detail>>> ReadTaskRun(
        Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var run = await db.TaskRuns.AsNoTracking().Include(t => t.State).FirstOrDefaultAsync(t => t.Id == id, ct);
        return run is null ? ErrorBodies.NotFound("Task not found") : TypedResults.Ok(run.ToResponse(time.UtcNow()));
    }

    /// <summary>
    /// Deletes the task run and its states. Unlike 2.7.0 its concurrency slots are given back, so a deleted
    /// running task cannot hold a slot forever.
    /// </summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteTaskRun(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        bool deleted = await db.InTransactionAsync(async () =>
        {
            var run = db.TaskRuns.Where(t => t.Id == id);
            await Cascades.BeforeDeletingTaskRunsAsync(db, run, ct);
            return await run.ExecuteDeleteAsync(ct) > 0;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Task not found");
    }

    public static async Task<Results<Ok<List<TaskRunResponse>>, UnprocessableEntity<Detail>>> FilterTaskRuns(
        TaskRunFilterRequest body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var runs = RunSorts.Apply(body.Filters.ApplyTo(db.TaskRuns.AsNoTracking(), db), body.Sort);
        var page = await body.Paging.Apply(runs).Include(r => r.State).ToListAsync(ct);
        DateTime now = time.UtcNow();
        return TypedResults.Ok(page.Select(r => r.ToResponse(now)).ToList());
    }

    public static async Task<Ok<int>> CountTaskRuns(FilterSet body, OrchestratorDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await body.ApplyTo(db.TaskRuns, db).CountAsync(ct));

    /// <summary>
    /// Proposes a state: the core policy decides, or the minimal one with <c>force</c>. 201 when a state
    /// was written (ACCEPT, REJECT), 200 when not (WAIT, ABORT).
    /// </summary>
    public static async Task<Results<Created<OrchestrationResult>, Ok<OrchestrationResult>>> SetTaskRunState(
        Guid id, SetStateRequest body, RunStateChanger changer, CancellationToken ct)
    {
        var result = await changer.SetTaskRunStateAsync(id, body.State, body.Force, ct);
        return OrchestrationResults.ToHttp(result);
    }
}
