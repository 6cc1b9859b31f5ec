using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A task proposing RUNNING with a cache key that has a live cached result gets that result instead:
/// REJECT to a copy of the cached COMPLETED state named "Cached". First in the task policy, so a hit wins
/// over terminal protection and full concurrency limits.
/// </summary>
public sealed class CacheRetrieval : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Running);

    protected override async Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        string? key = context.ProposedState?.StateDetails.CacheKey;
        if (string.IsNullOrEmpty(key))
        {
            return;
        }

        DateTime now = context.Now;
        Guid? cachedStateId = await context.Db.TaskRunStateCache
            .Where(c => c.CacheKey == key && (c.CacheExpiration == null || c.CacheExpiration > now))
            .OrderByDescending(c => c.Created)
            .Select(c => (Guid?)c.TaskRunStateId)
            .FirstOrDefaultAsync(cancellationToken);
        if (cachedStateId is null)
        {
            return;
        }

        // Only the newest live entry counts: if its state was deleted, the lookup misses (as in 2.7.0).
        var cached = await context.Db.TaskRunStates.AsNoTracking().FirstOrDefaultAsync(s => s.Id == cachedStateId, cancellationToken);
        if (cached is null)
        {
            return;
        }

        State hit = cached.ToState() with { Id = Ids.New(), Timestamp = context.Now, Name = "Cached" };
        RejectTransition(context, hit, "Retrieved state from cache");
    }
}
