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

    /// <summary>The weight of the newest release in a limit's mean slot time: a fifth, so the mean follows a change of workload within a few releases.</summary>
    private const double NewestWeight = 0.2;

    /// <summary>Gives back the task run's slots; <paramref name="heldFor"/>, when the run ended normally, joins each limit's mean slot time.</summary>
    public static async Task ReleaseAsync(
        OrchestratorDbContext db, Guid taskRunId, IReadOnlyCollection<string> tags, CancellationToken cancellationToken, TimeSpan? heldFor = null)
    {
        foreach (var limit in await LockLimitsAsync(db, tags, cancellationToken))
        {
            if (limit.ActiveSlots.Remove(taskRunId) && heldFor is { } held)
            {
                double seconds = Math.Max(0, held.TotalSeconds);
                limit.MeanSlotSeconds = limit.MeanSlotSeconds is { } mean ? mean + (NewestWeight * (seconds - mean)) : seconds;
            }
        }
    }
}
