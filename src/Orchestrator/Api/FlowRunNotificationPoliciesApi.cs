using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>Flow-run notification policies: which states are announced through which block (server-services.md §9).</summary>
public static class FlowRunNotificationPoliciesApi
{
    public static RouteGroupBuilder MapFlowRunNotificationPoliciesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/flow_run_notification_policies").WithTags("Flow run notification policies");
        group.MapPost("/", CreatePolicy).WithSummary("Create a notification policy.");
        group.MapGet("/{id}", ReadPolicy).WithSummary("Read a notification policy by id.");
        group.MapPatch("/{id}", UpdatePolicy).WithSummary("Update a notification policy.");
        group.MapDelete("/{id}", DeletePolicy).WithSummary("Delete a notification policy.");
        group.MapPost("/filter", FilterPolicies).WithSummary("List notification policies, by id.");
        return group;
    }

    /// <summary>A block document that does not exist is an integrity conflict (409), as in 2.7.0.</summary>
    public static async Task<Results<Created<FlowRunNotificationPolicyResponse>, Conflict<Detail>>> CreatePolicy(
        FlowRunNotificationPolicyCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        if (!await db.BlockDocuments.AnyAsync(d => d.Id == body.BlockDocumentId, ct))
        {
            return ErrorBodies.IntegrityConflict();
        }

        DateTime now = time.UtcNow();
        var policy = new FlowRunNotificationPolicy
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            IsActive = body.IsActive,
            StateNames = body.StateNames,
            Tags = body.Tags,
            BlockDocumentId = body.BlockDocumentId,
            MessageTemplate = body.MessageTemplate,
        };
        db.FlowRunNotificationPolicies.Add(policy);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created((string?)null, policy.ToResponse());
    }

    public static async Task<Results<Ok<FlowRunNotificationPolicyResponse>, NotFound<Detail>>> ReadPolicy(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var policy = await db.FlowRunNotificationPolicies.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        return policy is null ? ErrorBodies.NotFound("flow run notification policy not found") : TypedResults.Ok(policy.ToResponse());
    }

    public static async Task<Results<NoContent, NotFound<Detail>, Conflict<Detail>>> UpdatePolicy(
        Guid id, FlowRunNotificationPolicyUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var policy = await db.FlowRunNotificationPolicies.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (policy is null)
        {
            return ErrorBodies.NotFound("Flow run notification policy not found");
        }

        if (body.BlockDocumentId is { } document && !await db.BlockDocuments.AnyAsync(d => d.Id == document, ct))
        {
            return ErrorBodies.IntegrityConflict();
        }

        policy.IsActive = body.IsActive ?? policy.IsActive;
        policy.StateNames = body.StateNames ?? policy.StateNames;
        policy.Tags = body.Tags ?? policy.Tags;
        policy.BlockDocumentId = body.BlockDocumentId ?? policy.BlockDocumentId;
        policy.MessageTemplate = body.Sent.Contains("message_template") ? body.MessageTemplate : policy.MessageTemplate;
        policy.Updated = time.UtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, NotFound<Detail>>> DeletePolicy(Guid id, OrchestratorDbContext db, CancellationToken ct) =>
        await db.FlowRunNotificationPolicies.Where(p => p.Id == id).ExecuteDeleteAsync(ct) > 0
            ? TypedResults.NoContent()
            : ErrorBodies.NotFound("flow run notification policy not found");

    public static async Task<Results<Ok<List<FlowRunNotificationPolicyResponse>>, UnprocessableEntity<Detail>>> FilterPolicies(
        FlowRunNotificationPolicyFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var policies = db.FlowRunNotificationPolicies.AsNoTracking();
        if (body.IsActive is { } active)
        {
            policies = policies.Where(p => p.IsActive == active);
        }

        var page = await body.Paging.Apply(policies.OrderBy(p => p.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(p => p.ToResponse()).ToList());
    }
}
