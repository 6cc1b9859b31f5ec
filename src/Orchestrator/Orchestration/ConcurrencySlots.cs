using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// The slots of the concurrency limits: the limit rows locked in one order, and a task run's slots given
/// back. The slot rules call it inside a transition; the API calls it when a limit is changed or a task
/// run is deleted.
/// </summary>
public static class ConcurrencySlots
{
    /// <summary>
    /// The limit rows for these tags, locked until the transaction ends and always in tag order, so two
    /// transactions locking overlapping tag sets cannot deadlock. On SQLite the transaction already holds
    /// the database's single write lock.
    /// </summary>
    public static async Task<List<ConcurrencyLimit>> LockLimitsAsync(
        OrchestratorDbContext db, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        if (tags.Count == 0)
        {
            return [];
        }

        string[] tagArray = tags.Distinct().ToArray();
        if (db.IsPostgres)
        {
            return await db.ConcurrencyLimits
                .FromSql($"SELECT * FROM concurrency_limit WHERE tag = ANY({tagArray}) ORDER BY tag FOR UPDATE")
                .ToListAsync(cancellationToken);
        }

        return await db.ConcurrencyLimits.Where(l => tagArray.Contains(l.Tag)).OrderBy(l => l.Tag).ToListAsync(cancellationToken);
    }

    public static async Task ReleaseAsync(
        OrchestratorDbContext db, Guid taskRunId, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        foreach (var limit in await LockLimitsAsync(db, tags, cancellationToken))
        {
            limit.ActiveSlots.Remove(taskRunId);
        }
    }
}
