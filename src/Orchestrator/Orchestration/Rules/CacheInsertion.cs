using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Records a COMPLETED task state that carries a cache key, so later runs proposing RUNNING with the same
/// key get it back. Only in the core policy: forced completions are never cached.
/// </summary>
public sealed class CacheInsertion : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Completed);

    protected override Task AfterTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ValidatedState is { } validated && !string.IsNullOrEmpty(validated.StateDetails.CacheKey))
        {
            context.Db.TaskRunStateCache.Add(new TaskRunStateCache
            {
                Id = Ids.New(),
                Created = context.Now,
                Updated = context.Now,
                CacheKey = validated.StateDetails.CacheKey,
                CacheExpiration = validated.StateDetails.CacheExpiration,
                TaskRunStateId = validated.Id,
            });
        }

        return Task.CompletedTask;
    }
}
