using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration;

/// <summary>
/// Which flow runs a work queue holds: by name, or for a deprecated legacy queue (one with a
/// <c>filter</c>) by tags and deployments. Shared by <c>get_runs</c> and the queue's concurrency rule.
/// </summary>
public static class WorkQueueRuns
{
    /// <summary>The queue row, locked until the transaction ends, so PENDING proposals of its runs are decided one at a time.</summary>
    public static Task<WorkQueue?> LockAsync(OrchestratorDbContext db, string name, CancellationToken cancellationToken) =>
        db.IsPostgres
            ? db.WorkQueues.FromSql($"SELECT * FROM work_queue WHERE name = {name} FOR UPDATE").SingleOrDefaultAsync(cancellationToken)
            : db.WorkQueues.SingleOrDefaultAsync(q => q.Name == name, cancellationToken);

    /// <summary>
    /// Creates the queue a deployment names unless it exists (2.7.0 creates it with the deployment). A
    /// concurrent creation of the same name is not an error: on PostgreSQL the insert gives way to it.
    /// </summary>
    public static async Task EnsureQueueAsync(OrchestratorDbContext db, string name, DateTime now, CancellationToken cancellationToken)
    {
        if (db.IsPostgres)
        {
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO work_queue (id, created, updated, name, description, is_paused) VALUES ({Ids.New()}, {now}, {now}, {name}, '', false) ON CONFLICT (name) DO NOTHING",
                cancellationToken);
        }
        else if (!await db.WorkQueues.AnyAsync(q => q.Name == name, cancellationToken))
        {
            db.WorkQueues.Add(new WorkQueue { Id = Ids.New(), Created = now, Updated = now, Name = name });
            await db.SaveChangesAsync(cancellationToken);
        }
    }

    /// <summary>The runs of the queue that are PENDING or RUNNING, the ones its concurrency limit counts.</summary>
    public static Task<int> ActiveCountAsync(OrchestratorDbContext db, WorkQueue queue, Guid? except, CancellationToken cancellationToken) =>
        Of(db, queue).CountAsync(r => (r.StateType == StateType.Pending || r.StateType == StateType.Running) && r.Id != except, cancellationToken);

    /// <summary>
    /// The SCHEDULED runs an agent should start: due by <paramref name="scheduledBefore"/> (when given),
    /// soonest first, no more than <paramref name="limit"/> nor than the room the queue's concurrency limit
    /// leaves. A paused queue has none.
    /// </summary>
    public static async Task<List<FlowRun>> DueAsync(
        OrchestratorDbContext db, WorkQueue queue, DateTime? scheduledBefore, int limit, CancellationToken cancellationToken)
    {
        if (queue.IsPaused)
        {
            return [];
        }

        int cap = limit;
        if (queue.ConcurrencyLimit is { } concurrencyLimit)
        {
            int active = await ActiveCountAsync(db, queue, except: null, cancellationToken);
            cap = Math.Min(limit, Math.Max(0, concurrencyLimit - active));
        }

        if (cap == 0)
        {
            return [];
        }

        var due = Of(db, queue).Where(r => r.StateType == StateType.Scheduled);
        if (scheduledBefore is { } before)
        {
            due = due.Where(r => r.NextScheduledStartTime <= before);
        }

        return await due.OrderBy(r => r.NextScheduledStartTime).ThenBy(r => r.Id).Take(cap)
            .Include(r => r.State).AsNoTracking().ToListAsync(cancellationToken);
    }

    /// <summary>Whether a legacy queue's filter accepts a deployment: its tags all on the deployment, its ids (if any) naming it.</summary>
    public static bool Accepts(WorkQueue queue, Deployment deployment) =>
        QueueFilter.From(queue.Filter) is { } filter
        && (filter.Tags is not { Count: > 0 } tags || tags.All(deployment.Tags.Contains))
        && (filter.DeploymentIds is not { Count: > 0 } ids || ids.Contains(deployment.Id));

    private static IQueryable<FlowRun> Of(OrchestratorDbContext db, WorkQueue queue)
    {
        if (QueueFilter.From(queue.Filter) is not { } filter)
        {
            return db.FlowRuns.Where(r => r.WorkQueueName == queue.Name);
        }

        var runs = db.FlowRuns.Where(r => r.DeploymentId != null);
        foreach (string tag in filter.Tags ?? [])
        {
            runs = runs.Where(r => r.Tags.Contains(tag));
        }

        if (filter.DeploymentIds is { } ids)
        {
            var nullable = ids.Select(i => (Guid?)i).ToList();
            runs = runs.Where(r => nullable.Contains(r.DeploymentId));
        }

        return runs;
    }
}

/// <summary>
/// The deprecated <c>filter</c> of a legacy queue: tags a run must all carry and deployments it must come
/// from (null: no condition), stored as JSON on the queue.
/// </summary>
public sealed record QueueFilter(List<string>? Tags, List<Guid>? DeploymentIds)
{
    public static QueueFilter? From(RawJson? stored) =>
        stored is { } json && json.Text != "null" ? Json.Deserialize<QueueFilter>(json.Text) : null;

    public RawJson ToJson() => new(Json.Serialize(this));
}
