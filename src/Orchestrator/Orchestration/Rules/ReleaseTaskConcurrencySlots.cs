using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Gives back a task's concurrency slots whenever a transition leaves it in a state other than RUNNING.
/// A universal transform, as in Prefect 2.7.1 (decision D1): it also runs when an earlier rule rejected
/// the proposal (a failure turned into AwaitingRetry no longer keeps its slot) and under <c>force</c>.
/// </summary>
public sealed class ReleaseTaskConcurrencySlots : UniversalTransform
{
    public override async Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context is TaskOrchestrationContext task && context.ValidatedState is { Type: not StateType.Running })
        {
            await ConcurrencySlots.ReleaseAsync(context.Db, task.TaskRun.Id, task.TaskRun.Tags, cancellationToken);
        }
    }
}
