using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// The reads every transition makes, compiled (<c>EF.CompileAsyncQuery</c>): each call would otherwise
/// build the query's expression tree and have EF hash and compare it to find the cached translation.
/// </summary>
internal static class RunQueries
{
    // The tag locks the run row on PostgreSQL (RowLocks); on SQLite, whose transactions here are
    // immediate and so already serialize every writer, it stays a comment. The current state is joined.
    private static readonly PerModel<Func<OrchestratorDbContext, Guid, CancellationToken, Task<LockedTaskRun?>>> LockTaskRun = new(() =>
        EF.CompileAsyncQuery((OrchestratorDbContext db, Guid id, CancellationToken _) =>
            db.TaskRuns.TagWith(RowLocks.TaskRun).Where(r => r.Id == id)
                .Select(r => new LockedTaskRun(r, r.State, db.FlowRuns.Where(f => f.Id == r.FlowRunId).Select(f => (int?)f.RunCount).FirstOrDefault()))
                .FirstOrDefault()));

    private static readonly PerModel<Func<OrchestratorDbContext, Guid, CancellationToken, Task<FlowRun?>>> LockFlowRun = new(() =>
        EF.CompileAsyncQuery((OrchestratorDbContext db, Guid id, CancellationToken _) =>
            db.FlowRuns.TagWith(RowLocks.FlowRun).Include(r => r.State).FirstOrDefault(r => r.Id == id)));

    /// <summary>
    /// The task run (tracked) with its current state and its flow run's run count, in one statement,
    /// locked on PostgreSQL. A task going to RUNNING records that count, and one leaving a terminal state
    /// compares against it, so the count rides with the lock instead of costing a round trip of its own.
    /// </summary>
    public static Task<LockedTaskRun?> TaskRunForTransition(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        LockTaskRun.For(db)(db, id, cancellationToken);

    /// <summary>The flow run (tracked) with its current state, locked on PostgreSQL.</summary>
    public static Task<FlowRun?> FlowRunForTransition(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        LockFlowRun.For(db)(db, id, cancellationToken);

    public static Task<int?> FlowRunRunCount(OrchestratorDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.FlowRuns.Where(f => f.Id == id).Select(f => (int?)f.RunCount).FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// One compiled copy of a query per EF model: a compiled query refuses a context of another model than
    /// the one it first ran with, and one process may hold several (a test host opens SQLite and
    /// PostgreSQL contexts side by side).
    /// </summary>
    private sealed class PerModel<TQuery>(Func<TQuery> compile) where TQuery : class
    {
        private readonly ConditionalWeakTable<IModel, TQuery> _byModel = [];

        public TQuery For(DbContext db) => _byModel.TryGetValue(db.Model, out var query) ? query : _byModel.GetValue(db.Model, _ => compile());
    }
}

/// <summary>
/// A task run as its transition reads it. <see cref="State"/> is selected so that EF loads it and sets it
/// as the tracked run's current state; the count is null when the flow run no longer exists.
/// </summary>
internal sealed record LockedTaskRun(TaskRun Run, TaskRunState? State, int? FlowRunRunCount);
