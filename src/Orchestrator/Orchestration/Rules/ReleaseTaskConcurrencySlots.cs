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
        if (context is TaskOrchestrationContext task && context.ValidatedState is { Type: not StateType.Running } validated)
        {
            // A slot given back by a run that ran to an end tells how long the limit's slots are held; a
            // crash (often reported long after the fact, or by the reaper) does not.
            TimeSpan? held = context.InitialState is { Type: StateType.Running } running && validated.Type != StateType.Crashed
                ? context.Now - running.Timestamp
                : null;
            await ConcurrencySlots.ReleaseAsync(context.Db, task.TaskRun.Id, task.TaskRun.Tags, cancellationToken, held);
        }
    }
}
