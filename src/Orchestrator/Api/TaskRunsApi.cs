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
    private static readonly string[] Sorts =
    [
        "ID_DESC", "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC", "NAME_ASC", "NAME_DESC",
        "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC",
    ];

    public static RouteGroupBuilder MapTaskRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/task_runs").WithTags("Task runs");
        group.MapPost("/", CreateTaskRun).AcceptsJson<TaskRunCreate>();
        group.MapGet("/{id}", ReadTaskRun);
        group.MapDelete("/{id}", DeleteTaskRun);
        group.MapPost("/filter", FilterTaskRuns);
        group.MapPost("/count", CountTaskRuns);
        group.MapPost("/history", RunHistory.Refuse);
        group.MapPost("/{id}/set_state", SetTaskRunState).AcceptsJson<SetStateRequest>();
        return group;
    }

    /// <summary>
    /// Creates a task run unless one with the same (flow run, task key, dynamic key) exists, which is
    /// returned unchanged (200): that is how a retried flow finds its earlier task runs.
    /// </summary>
    public static async Task<Results<Created<TaskRunResponse>, Ok<TaskRunResponse>>> CreateTaskRun(
        HttpRequest request, OrchestratorDbContext db, RunStateChanger changer, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, TaskRunCreate.Read, forbidExtra: true);
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
            var run = await db.TaskRuns.FirstOrDefaultAsync(t => t.Id == id, ct);
            if (run is null)
            {
                return false;
            }

            await ConcurrencySlots.ReleaseAsync(db, run.Id, run.Tags, ct);
            await db.SaveChangesAsync(ct);
            await Cascades.DetachSubflowsAsync(db, db.TaskRuns.Where(t => t.Id == id), ct);
            await db.TaskRuns.Where(t => t.Id == id).ExecuteDeleteAsync(ct);
            return true;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Task not found");
    }

    public static async Task<IResult> FilterTaskRuns(HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var filter = await RequestBody.ReadAsync(request, r => new FilterRequest(FilterSet.Read(r, db), r.Enum("sort", Sorts), Paging.Read(r)), forbidExtra: false);
        if (filter.Paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var runs = Sort(filter.Filters.ApplyTo(db.TaskRuns.AsNoTracking(), db), filter.Sort);
        var page = await filter.Paging.Apply(runs).Include(t => t.State).ToListAsync(ct);
        DateTime now = time.UtcNow();
        return TypedResults.Ok(page.Select(t => t.ToResponse(now)));
    }

    public static async Task<Ok<int>> CountTaskRuns(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var filters = await RequestBody.ReadAsync(request, r => FilterSet.Read(r, db), forbidExtra: false);
        return TypedResults.Ok(await filters.ApplyTo(db.TaskRuns, db).CountAsync(ct));
    }

    /// <summary>
    /// Proposes a state: the core policy decides, or the minimal one with <c>force</c>. 201 when a state
    /// was written (ACCEPT, REJECT), 200 when not (WAIT, ABORT).
    /// </summary>
    public static async Task<IResult> SetTaskRunState(
        Guid id, HttpRequest request, RunStateChanger changer, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, SetStateRequest.Read, forbidExtra: false);
        var result = await changer.SetTaskRunStateAsync(id, body.State, body.Force, ct);
        return OrchestrationResults.ToHttp(result);
    }

    private static IQueryable<TaskRun> Sort(IQueryable<TaskRun> runs, string? sort) => sort switch
    {
        "EXPECTED_START_TIME_ASC" => runs.OrderBy(r => r.ExpectedStartTime == null).ThenBy(r => r.ExpectedStartTime).ThenBy(r => r.Id),
        "EXPECTED_START_TIME_DESC" => runs.OrderByDescending(r => r.ExpectedStartTime == null).ThenByDescending(r => r.ExpectedStartTime).ThenBy(r => r.Id),
        "NAME_ASC" => runs.OrderBy(r => r.Name).ThenBy(r => r.Id),
        "NAME_DESC" => runs.OrderByDescending(r => r.Name).ThenBy(r => r.Id),
        "NEXT_SCHEDULED_START_TIME_ASC" => runs.OrderBy(r => r.NextScheduledStartTime == null).ThenBy(r => r.NextScheduledStartTime).ThenBy(r => r.Id),
        "END_TIME_DESC" => runs.OrderByDescending(r => r.EndTime == null).ThenByDescending(r => r.EndTime).ThenBy(r => r.Id),
        _ => runs.OrderByDescending(r => r.Id),
    };
}
