using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>Reading (locked) and releasing concurrency-limit slots, shared by the slot rules.</summary>
internal static class ConcurrencySlots
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

    public static int WaitSeconds(OrchestrationOptions options) =>
        options.ConcurrencyLimitWaitSeconds
        + (options.ConcurrencyLimitWaitJitterSeconds > 0 ? Random.Shared.Next(options.ConcurrencyLimitWaitJitterSeconds + 1) : 0);
}
