using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Api;

/// <summary>Deletion side effects the database schema cannot express on both providers.</summary>
public static class Cascades
{
    /// <summary>
    /// Subflows keep existing when the task run standing for them is deleted; their link is cleared
    /// (SQLite cannot add that foreign key to the existing table, so it is done here).
    /// </summary>
    public static Task DetachSubflowsAsync(OrchestratorDbContext db, IQueryable<TaskRun> deletedTaskRuns, CancellationToken ct) =>
        db.FlowRuns
            .Where(r => r.ParentTaskRunId != null && deletedTaskRuns.Any(t => t.Id == r.ParentTaskRunId))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ParentTaskRunId, (Guid?)null), ct);
}
