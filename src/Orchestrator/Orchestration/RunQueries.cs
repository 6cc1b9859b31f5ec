using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// The reads every transition makes. (Not compiled with <c>EF.CompileAsyncQuery</c>: a compiled query
/// keeps the first provider it ran on, and one process may serve SQLite and PostgreSQL contexts.)
/// </summary>
internal static class RunQueries
{
    // Row locks need raw SQL. The lock is taken in a subquery, and the state joined to the row it returns.
    public static Task<TaskRun?> LockTaskRunOnPostgres(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.TaskRuns.FromSqlRaw("SELECT * FROM task_run WHERE id = {0} FOR UPDATE", id).Include(r => r.State).SingleOrDefaultAsync(cancellationToken);

    public static Task<FlowRun?> LockFlowRunOnPostgres(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.FlowRuns.FromSqlRaw("SELECT * FROM flow_run WHERE id = {0} FOR UPDATE", id).Include(r => r.State).SingleOrDefaultAsync(cancellationToken);

    public static Task<TaskRun?> TaskRunWithState(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.TaskRuns.Include(r => r.State).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    public static Task<FlowRun?> FlowRunWithState(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.FlowRuns.Include(r => r.State).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    public static Task<int?> FlowRunRunCount(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.FlowRuns.Where(f => f.Id == id).Select(f => (int?)f.RunCount).FirstOrDefaultAsync(cancellationToken);
}
