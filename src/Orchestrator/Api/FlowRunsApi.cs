using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class FlowRunsApi
{
    public static RouteGroupBuilder MapFlowRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/flow_runs").WithTags("Flow runs");
        group.MapPost("/", CreateFlowRun).WithSummary("Create a flow run with its initial state.");
        group.MapGet("/{id}", ReadFlowRun).WithSummary("Read a flow run by id.");
        group.MapPatch("/{id}", UpdateFlowRun).WithSummary("Update a flow run's fields (not its state).");
        group.MapDelete("/{id}", DeleteFlowRun).WithSummary("Delete a flow run with its task runs and states.");
        group.MapPost("/filter", FilterFlowRuns).WithSummary("List flow runs matching the filters.");
        group.MapPost("/count", CountFlowRuns).WithSummary("Count flow runs matching the filters.");
        group.MapGet("/{id}/graph", ReadGraph).WithSummary("The task runs of a flow run and their upstream dependencies.");
        group.MapPost("/history", RunHistory.FlowRunHistory).WithSummary("Runs counted by current state in buckets of their expected start time.");
        group.MapPost("/{id}/set_state", SetFlowRunState).Produces<ExceptionMessage>(StatusCodes.Status404NotFound).WithSummary("Propose a new state for a flow run; the orchestration rules decide.");
        return group;
    }

    /// <summary>
    /// Creates a flow run and sets its initial state (forced, so only bookkeeping runs), in one
    /// transaction. With an idempotency key, an existing run of the same flow and key is returned (200).
    /// </summary>
    public static async Task<Results<Created<FlowRunResponse>, Ok<FlowRunResponse>, Conflict<Detail>>> CreateFlowRun(
        FlowRunCreate body, HttpRequest request, OrchestratorDbContext db, RunStateChanger changer, TimeProvider time, CancellationToken ct)
    {
        return await CreateAsync(db, changer, time, body, ApiVersionCheck.ClientVersion(request), ct);
    }

    /// <summary>Shared by <c>POST /flow_runs/</c> and a deployment's <c>create_flow_run</c>.</summary>
    internal static async Task<Results<Created<FlowRunResponse>, Ok<FlowRunResponse>, Conflict<Detail>>> CreateAsync(
        OrchestratorDbContext db, RunStateChanger changer, TimeProvider time, FlowRunCreate body,
        Version? clientApiVersion, CancellationToken ct, string? workQueueName = null)
    {
        if (body.ParentTaskRunId is { } parentId && !await db.TaskRuns.AnyAsync(t => t.Id == parentId, ct))
        {
            return ErrorBodies.IntegrityConflict();
        }

        var existing = await FindByIdempotencyKeyAsync(db, body, ct);
        if (existing is not null)
        {
            return TypedResults.Ok(existing.ToResponse(time.UtcNow()));
        }

        DateTime now = time.UtcNow();
        var run = new FlowRun
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = string.IsNullOrEmpty(body.Name) ? Slugs.Random() : body.Name,
            FlowId = body.FlowId,
            DeploymentId = body.DeploymentId,
            WorkQueueName = workQueueName,
            FlowVersion = body.FlowVersion,
            Parameters = body.Parameters,
            Context = body.Context,
            ParentTaskRunId = body.ParentTaskRunId,
            InfrastructureDocumentId = body.InfrastructureDocumentId,
            EmpiricalPolicy = body.EmpiricalPolicy,
            Tags = body.Tags,
            IdempotencyKey = body.IdempotencyKey,
        };
        if (await changer.TryCreateFlowRunAsync(run, body.State ?? PendingState(), clientApiVersion, ct))
        {
            return TypedResults.Created((string?)null, run.ToResponse(time.UtcNow()));
        }

        // The only unique key a new run can meet is its idempotency key: a concurrent request won the insert.
        var winner = await FindByIdempotencyKeyAsync(db, body, ct);
        return winner is null ? ErrorBodies.IntegrityConflict() : TypedResults.Ok(winner.ToResponse(time.UtcNow()));
    }

    private static Task<FlowRun?> FindByIdempotencyKeyAsync(OrchestratorDbContext db, FlowRunCreate body, CancellationToken ct) =>
        body.IdempotencyKey is null
            ? Task.FromResult<FlowRun?>(null)
            : db.FlowRuns.AsNoTracking().Include(r => r.State)
                .FirstOrDefaultAsync(r => r.FlowId == body.FlowId && r.IdempotencyKey == body.IdempotencyKey, ct);

    internal static State PendingState() => new()
    {
        Id = Guid.Empty,
        Type = StateType.Pending,
        Name = StateType.Pending.DefaultName(),
        Timestamp = default,
    };

    public static async Task<Results<Ok<FlowRunResponse>, NotFound<Detail>>> ReadFlowRun(
        Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var run = await db.FlowRuns.AsNoTracking().Include(r => r.State).FirstOrDefaultAsync(r => r.Id == id, ct);
        return run is null ? ErrorBodies.NotFound("Flow run not found") : TypedResults.Ok(run.ToResponse(time.UtcNow()));
    }

    /// <summary>Writes only the keys present in the body; state fields cannot be changed this way.</summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> UpdateFlowRun(
        Guid id, FlowRunUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var run = await db.FlowRuns.FirstOrDefaultAsync(r => r.Id == id, ct);
        if (run is null)
        {
            return ErrorBodies.NotFound("Flow run not found");
        }

        run.Name = body.Name ?? run.Name;
        run.FlowVersion = body.FlowVersion ?? run.FlowVersion;
        run.Parameters = body.Parameters ?? run.Parameters;
        run.EmpiricalPolicy = body.EmpiricalPolicy ?? run.EmpiricalPolicy;
        run.Tags = body.Tags ?? run.Tags;
        run.InfrastructurePid = body.InfrastructurePid ?? run.InfrastructurePid;
        run.Updated = time.UtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>Deletes the run with its task runs and all their states; subflows lose their parent link.</summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteFlowRun(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        bool deleted = await db.InTransactionAsync(async () =>
        {
            await Cascades.BeforeDeletingTaskRunsAsync(db, db.TaskRuns.Where(t => t.FlowRunId == id), ct);
            return await db.FlowRuns.Where(r => r.Id == id).ExecuteDeleteAsync(ct) > 0;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Flow run not found");
    }

    public static async Task<Results<Ok<List<FlowRunResponse>>, UnprocessableEntity<Detail>>> FilterFlowRuns(
        FlowRunFilterRequest body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var runs = RunSorts.Apply(body.Filters.ApplyTo(db.FlowRuns.AsNoTracking(), db), body.Sort);
        var page = await body.Paging.Apply(runs).Include(r => r.State).ToListAsync(ct);
        DateTime now = time.UtcNow();
        return TypedResults.Ok(page.Select(r => r.ToResponse(now)).ToList());
    }

    public static async Task<Ok<int>> CountFlowRuns(FilterSet body, OrchestratorDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await body.ApplyTo(db.FlowRuns, db).CountAsync(ct));

    /// <summary>One node per task run of the flow run, with the task runs its inputs came from.</summary>
    public static async Task<Results<Ok<List<GraphNode>>, NotFound<ExceptionMessage>>> ReadGraph(
        Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (!await db.FlowRuns.AnyAsync(r => r.Id == id, ct))
        {
            return ErrorBodies.MissingObject($"Flow run with id {id} not found");
        }

        DateTime now = time.UtcNow();
        var taskRuns = await db.TaskRuns.AsNoTracking().Include(t => t.State).Where(t => t.FlowRunId == id).ToListAsync(ct);
        return TypedResults.Ok(taskRuns.Select(t => new GraphNode(
            t.Id,
            TaskInputs.UpstreamTaskRuns(t.TaskInputs),
            t.State?.ToState(),
            t.ExpectedStartTime,
            t.StartTime,
            t.EndTime,
            t.TotalRunTime,
            ResponseMapping.EstimatedRunTime(t, now),
            t.State?.StateDetails.UntrackableResult ?? false)).ToList());
    }

    /// <summary>
    /// Proposes a state: the core policy decides, or the minimal one with <c>force</c>. 201 when a state
    /// was written (ACCEPT, REJECT), 200 when not (WAIT, ABORT).
    /// </summary>
    public static async Task<Results<Created<OrchestrationResult>, Ok<OrchestrationResult>>> SetFlowRunState(
        Guid id, SetStateRequest body, HttpRequest request, RunStateChanger changer, CancellationToken ct)
    {
        var result = await changer.SetFlowRunStateAsync(id, body.State, body.Force, ApiVersionCheck.ClientVersion(request), ct);
        return OrchestrationResults.ToHttp(result);
    }
}
