using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Api;

/// <summary>Deletion side effects the database schema cannot express on both providers.</summary>
public static class Cascades
{
    /// <summary>
    /// What must happen before task runs are deleted, directly or with their flow run or flow: the
    /// concurrency slots they hold are given back (a slot naming a run that no longer exists would be
    /// taken for good), and their subflows are detached.
    /// </summary>
    public static async Task BeforeDeletingTaskRunsAsync(OrchestratorDbContext db, IQueryable<TaskRun> deletedTaskRuns, CancellationToken ct)
    {
        // Only a RUNNING task run holds slots (decision D1). On PostgreSQL the holders' rows are locked
        // before their limits, the order every transition takes them in, so a delete racing a transition
        // of one of its task runs waits for it instead of deadlocking with it.
        var running = deletedTaskRuns.Where(t => t.StateType == StateType.Running);
        if (db.IsPostgres)
        {
            Guid[] ids = await running.Select(t => t.Id).ToArrayAsync(ct);
            running = db.TaskRuns.FromSql($"SELECT * FROM task_run WHERE id = ANY({ids}) FOR UPDATE").Where(t => t.StateType == StateType.Running);
        }

        var holders = await running.Select(t => new { t.Id, t.Tags }).ToListAsync(ct);
        foreach (var holder in holders)
        {
            await ConcurrencySlots.ReleaseAsync(db, holder.Id, holder.Tags, ct);
        }

        await db.SaveChangesAsync(ct);
        await DetachSubflowsAsync(db, deletedTaskRuns, ct);
    }

    /// <summary>
    /// Subflows keep existing when the task run standing for them is deleted; their link is cleared
    /// (SQLite cannot add that foreign key to the existing table, so it is done here).
    /// </summary>
    private static Task DetachSubflowsAsync(OrchestratorDbContext db, IQueryable<TaskRun> deletedTaskRuns, CancellationToken ct) =>
        db.FlowRuns
            .Where(r => r.ParentTaskRunId != null && deletedTaskRuns.Any(t => t.Id == r.ParentTaskRunId))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ParentTaskRunId, (Guid?)null), ct);
}
