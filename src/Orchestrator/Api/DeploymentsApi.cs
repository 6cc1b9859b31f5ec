using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Orchestration.Services;
using Orchestrator.Orchestration.Scheduling;
using Microsoft.Extensions.Options;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>The subset of deployments needed to create flow runs from them.</summary>
public static class DeploymentsApi
{
    public static RouteGroupBuilder MapDeploymentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/deployments").WithTags("Deployments");
        group.MapPost("/", UpsertDeployment).WithSummary("Create a deployment, or update the one of that flow and name.");
        group.MapGet("/{id}", ReadDeployment).WithSummary("Read a deployment by id.");
        group.MapGet("/name/{flowName}/{deploymentName}", ReadDeploymentByName).WithSummary("Read a deployment by flow name and deployment name.");
        group.MapPost("/filter", FilterDeployments).WithSummary("List deployments matching the filters.");
        group.MapPost("/count", CountDeployments).WithSummary("Count deployments matching the filters.");
        group.MapDelete("/{id}", DeleteDeployment).WithSummary("Delete a deployment and its runs still scheduled.");
        group.MapPatch("/{id}", UpdateDeployment).WithSummary("Update a deployment; its upcoming auto-scheduled runs are recreated.");
        group.MapPost("/{id}/schedule", ScheduleRuns).WithSummary("Create the deployment's scheduled runs for a window now.");
        group.MapPost("/{id}/set_schedule_active", SetScheduleActive).WithSummary("Turn the deployment's schedule on.");
        group.MapPost("/{id}/set_schedule_inactive", SetScheduleInactive).WithSummary("Turn the deployment's schedule off and delete its upcoming auto-scheduled runs.");
        group.MapGet("/{id}/work_queue_check", WorkQueueCheck).WithSummary("The legacy work queues whose filter would pick up this deployment's runs.");
        group.MapPost("/{id}/create_flow_run", CreateFlowRun).WithSummary("Create a flow run from a deployment.");
        return group;
    }

    /// <summary>
    /// Creates the deployment, or overwrites every field of the one with the same flow and name (keys
    /// left out take their defaults), then drops its auto-scheduled runs that have not started.
    /// </summary>
    public static async Task<Results<Created<DeploymentResponse>, Ok<DeploymentResponse>, Conflict<Detail>>> UpsertDeployment(
        DeploymentCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (body.InfrastructureDocumentId is { } infrastructureId && !await db.BlockDocuments.AnyAsync(d => d.Id == infrastructureId, ct))
        {
            return ErrorBodies.Conflict(MissingBlock("infrastructure", infrastructureId));
        }

        if (body.StorageDocumentId is { } storageId && !await db.BlockDocuments.AnyAsync(d => d.Id == storageId, ct))
        {
            return ErrorBodies.Conflict(MissingBlock("storage", storageId));
        }

        var (deployment, created) = await db.InTransactionAsync(async () =>
        {
            DateTime now = time.UtcNow();
            var existing = await db.Deployments.FirstOrDefaultAsync(d => d.FlowId == body.FlowId && d.Name == body.Name, ct);
            var deployment = existing ?? new Deployment { Id = Ids.New(), Created = now };
            deployment.Updated = now;
            deployment.Name = body.Name;
            deployment.FlowId = body.FlowId;
            deployment.IsScheduleActive = body.IsScheduleActive;
            deployment.Parameters = body.Parameters;
            deployment.Tags = body.Tags;
            deployment.ManifestPath = body.ManifestPath;
            deployment.WorkQueueName = body.WorkQueueName;
            deployment.StorageDocumentId = body.StorageDocumentId;
            deployment.InfrastructureDocumentId = body.InfrastructureDocumentId;
            deployment.Schedule = body.Schedule?.ToStored(now);
            deployment.Description = body.Description;
            deployment.ParameterOpenapiSchema = body.ParameterOpenapiSchema;
            deployment.Path = body.Path;
            deployment.Version = body.Version;
            deployment.Entrypoint = body.Entrypoint;
            deployment.InfraOverrides = body.InfraOverrides;
            if (existing is null)
            {
                db.Deployments.Add(deployment);
            }

            await db.SaveChangesAsync(ct);
            await ScheduledRuns.DeleteUpcomingAsync(db, deployment.Id, ct);
            if (!string.IsNullOrEmpty(deployment.WorkQueueName))
            {
                await WorkQueueRuns.EnsureQueueAsync(db, deployment.WorkQueueName, now, ct);
            }

            return (deployment, existing is null);
        }, ct);
        return created ? TypedResults.Created((string?)null, deployment.ToResponse()) : TypedResults.Ok(deployment.ToResponse());
    }

    /// <summary>
    /// Writes the keys present, then deletes the deployment's upcoming auto-scheduled runs (the scheduler
    /// recreates them from the new definition within seconds) and creates the queue it names.
    /// </summary>
    public static async Task<Results<NoContent, NotFound<Detail>, Conflict<Detail>>> UpdateDeployment(
        Guid id, DeploymentUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (body.Sent.Contains("infra_overrides") && body.InfraOverrides is null)
        {
            return ErrorBodies.IntegrityConflict();
        }

        return await db.InTransactionAsync<Results<NoContent, NotFound<Detail>, Conflict<Detail>>>(async () =>
        {
            var deployment = await db.Deployments.FirstOrDefaultAsync(d => d.Id == id, ct);
            if (deployment is null)
            {
                return ErrorBodies.NotFound("Deployment not found.");
            }

            DateTime now = time.UtcNow();
            if (body.Sent.Contains("version")) deployment.Version = body.Version;
            if (body.Sent.Contains("schedule")) deployment.Schedule = body.Schedule?.ToStored(now);
            if (body.Sent.Contains("description")) deployment.Description = body.Description;
            if (body.IsScheduleActive is { } active) deployment.IsScheduleActive = active;
            if (body.Parameters is { } parameters) deployment.Parameters = parameters;
            if (body.Tags is { } tags) deployment.Tags = tags;
            if (body.Sent.Contains("work_queue_name")) deployment.WorkQueueName = body.WorkQueueName;
            if (body.Sent.Contains("path")) deployment.Path = body.Path;
            if (body.InfraOverrides is { } overrides) deployment.InfraOverrides = overrides;
            if (body.Sent.Contains("entrypoint")) deployment.Entrypoint = body.Entrypoint;
            if (body.Sent.Contains("manifest_path")) deployment.ManifestPath = body.ManifestPath;
            if (body.Sent.Contains("storage_document_id")) deployment.StorageDocumentId = body.StorageDocumentId;
            if (body.Sent.Contains("infrastructure_document_id")) deployment.InfrastructureDocumentId = body.InfrastructureDocumentId;
            deployment.Updated = now;
            await db.SaveChangesAsync(ct);
            await ScheduledRuns.DeleteUpcomingAsync(db, id, ct);
            if (!string.IsNullOrEmpty(deployment.WorkQueueName))
            {
                await WorkQueueRuns.EnsureQueueAsync(db, deployment.WorkQueueName, now, ct);
            }

            return TypedResults.NoContent();
        }, ct);
    }

    /// <summary>
    /// Creates the runs the schedule has in the window (defaults: the scheduler's), idempotently. A
    /// deployment without an active schedule, or none at all, gets nothing: still 200 with <c>null</c>, as 2.7.0 answers.
    /// </summary>
    public static async Task<Ok<object?>> ScheduleRuns(
        Guid id, ScheduleRunsRequest body, OrchestratorDbContext db, TimeProvider time, IOptions<ServiceOptions> options, CancellationToken ct)
    {
        var scheduler = options.Value.Scheduler;
        DateTime now = time.UtcNow();
        DateTime start = body.StartTime ?? now;
        var window = new ScheduleWindow(
            start,
            body.EndTime ?? start + scheduler.MaxScheduledTime,
            body.MinTimeSeconds is { } minTime ? TimeSpan.FromSeconds(minTime) : scheduler.MinScheduledTime,
            body.MinRuns ?? scheduler.MinRuns,
            body.MaxRuns ?? scheduler.MaxRuns);
        await db.InTransactionAsync(async () =>
        {
            var deployment = await db.Deployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct);
            return deployment?.Schedule is { } schedule
                ? await ScheduledRuns.InsertAsync(db, deployment, Schedule.FromJson(schedule), window, now, ct)
                : 0;
        }, ct);
        return TypedResults.Ok<object?>(null);
    }

    public static async Task<Results<Ok<object?>, NotFound<Detail>>> SetScheduleActive(Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        int updated = await db.Deployments.Where(d => d.Id == id)
            .ExecuteUpdateAsync(d => d.SetProperty(x => x.IsScheduleActive, true).SetProperty(x => x.Updated, now), ct);
        return updated > 0 ? TypedResults.Ok<object?>(null) : ErrorBodies.NotFound("Deployment not found");
    }

    public static async Task<Results<Ok<object?>, NotFound<Detail>>> SetScheduleInactive(Guid id, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        bool found = await db.InTransactionAsync(async () =>
        {
            int updated = await db.Deployments.Where(d => d.Id == id)
                .ExecuteUpdateAsync(d => d.SetProperty(x => x.IsScheduleActive, false).SetProperty(x => x.Updated, now), ct);
            await ScheduledRuns.DeleteUpcomingAsync(db, id, ct);
            return updated > 0;
        }, ct);
        return found ? TypedResults.Ok<object?>(null) : ErrorBodies.NotFound("Deployment not found");
    }

    /// <summary>The legacy queues (those with a filter) whose tags and deployment ids would accept this deployment.</summary>
    public static async Task<Results<Ok<List<WorkQueueResponse>>, NotFound<Detail>>> WorkQueueCheck(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var deployment = await db.Deployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct);
        if (deployment is null)
        {
            return ErrorBodies.NotFound("Deployment not found");
        }

        var legacy = await db.WorkQueues.AsNoTracking().Where(q => q.Filter != null).OrderBy(q => q.Name).ToListAsync(ct);
        return TypedResults.Ok(legacy.Where(q => WorkQueueRuns.Accepts(q, deployment)).Select(q => q.ToResponse()).ToList());
    }

    private static string MissingBlock(string kind, Guid id) =>
        $"Error creating deployment. Could not find {kind} block with id: {id}. This usually occurs when applying a deployment specification that was built against a different Prefect database / workspace.";

    public static async Task<Results<Ok<DeploymentResponse>, NotFound<Detail>>> ReadDeployment(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var deployment = await db.Deployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct);
        return deployment is null ? ErrorBodies.NotFound("Deployment not found") : TypedResults.Ok(deployment.ToResponse());
    }

    public static async Task<Results<Ok<DeploymentResponse>, NotFound<Detail>>> ReadDeploymentByName(
        string flowName, string deploymentName, OrchestratorDbContext db, CancellationToken ct)
    {
        var deployment = await db.Deployments.AsNoTracking()
            .Where(d => d.Name == deploymentName && db.Flows.Any(f => f.Id == d.FlowId && f.Name == flowName))
            .FirstOrDefaultAsync(ct);
        return deployment is null ? ErrorBodies.NotFound("Deployment not found") : TypedResults.Ok(deployment.ToResponse());
    }

    public static async Task<Results<Ok<List<DeploymentResponse>>, UnprocessableEntity<Detail>>> FilterDeployments(
        DeploymentFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var deployments = body.Filters.ApplyTo(db.Deployments.AsNoTracking(), db);
        deployments = body.Sort switch
        {
            "NAME_DESC" => deployments.OrderByDescending(d => d.Name).ThenBy(d => d.Id),
            "CREATED_DESC" => deployments.OrderByDescending(d => d.Created).ThenBy(d => d.Id),
            "UPDATED_DESC" => deployments.OrderByDescending(d => d.Updated).ThenBy(d => d.Id),
            _ => deployments.OrderBy(d => d.Name).ThenBy(d => d.Id),
        };
        var page = await body.Paging.Apply(deployments).ToListAsync(ct);
        return TypedResults.Ok(page.Select(d => d.ToResponse()).ToList());
    }

    public static async Task<Ok<int>> CountDeployments(FilterSet body, OrchestratorDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await body.ApplyTo(db.Deployments, db).CountAsync(ct));

    /// <summary>Deletes the deployment and its runs that have not left SCHEDULED; other runs are kept.</summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteDeployment(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        bool deleted = await db.InTransactionAsync(async () =>
        {
            var scheduled = db.FlowRuns.Where(r => r.DeploymentId == id && r.StateType == StateType.Scheduled);
            await Cascades.BeforeDeletingTaskRunsAsync(db, db.TaskRuns.Where(t => scheduled.Any(r => r.Id == t.FlowRunId)), ct);
            await scheduled.ExecuteDeleteAsync(ct);
            return await db.Deployments.Where(d => d.Id == id).ExecuteDeleteAsync(ct) > 0;
        }, ct);
        return deleted ? TypedResults.NoContent() : ErrorBodies.NotFound("Deployment not found");
    }

    /// <summary>
    /// Creates a flow run of the deployment's flow: the deployment's parameters overlaid with the body's,
    /// the union of both tag lists, and the deployment's work queue and infrastructure unless overridden.
    /// </summary>
    public static async Task<Results<Created<FlowRunResponse>, Ok<FlowRunResponse>, Conflict<Detail>, NotFound<Detail>>> CreateFlowRun(
        Guid id, DeploymentFlowRunCreate body, OrchestratorDbContext db, RunStateChanger changer, TimeProvider time, CancellationToken ct)
    {
        var deployment = await db.Deployments.AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct);
        if (deployment is null)
        {
            return ErrorBodies.NotFound("Deployment not found");
        }

        var create = new FlowRunCreate(
            deployment.FlowId,
            body.Name,
            body.State,
            deployment.Id,
            FlowVersion: null,
            JsonObjects.Merge(deployment.Parameters, body.Parameters),
            body.Context,
            body.ParentTaskRunId,
            body.InfrastructureDocumentId ?? deployment.InfrastructureDocumentId,
            body.EmpiricalPolicy,
            deployment.Tags.Union(body.Tags).ToList(),
            body.IdempotencyKey);
        // Runs created from a deployment get no API-version parameter, as in 2.7.0.
        var created = await FlowRunsApi.CreateAsync(db, changer, time, create, clientApiVersion: null, ct, deployment.WorkQueueName);
        return created.Result switch
        {
            Created<FlowRunResponse> run => run,
            Ok<FlowRunResponse> existing => existing,
            _ => (Conflict<Detail>)created.Result,
        };
    }
}
