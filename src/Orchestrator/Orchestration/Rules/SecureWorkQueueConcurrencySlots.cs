using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Decision D8: a run of a work queue with a concurrency limit may enter PENDING only while the queue has
/// room. The queue row is locked, so agents racing for one queue's runs cannot exceed its limit; over the
/// limit the proposal is aborted and the run stays SCHEDULED for a later poll. 2.7.0 applies the limit
/// only when get_runs counts a queue's runs, which two agents polling at once can both pass.
/// </summary>
public sealed class SecureWorkQueueConcurrencySlots : OrchestrationRule<FlowOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Pending);

    protected override async Task BeforeTransitionAsync(FlowOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.FlowRun.WorkQueueName is not { } name
            || await WorkQueueRuns.LockAsync(context.Db, name, cancellationToken) is not { ConcurrencyLimit: { } limit, Filter: null } queue)
        {
            return;
        }

        int active = await WorkQueueRuns.ActiveCountAsync(context.Db, queue, except: context.FlowRun.Id, cancellationToken);
        if (active >= limit)
        {
            AbortTransition(context, $"The work queue '{name}' has reached its concurrency limit of {limit}; the run stays scheduled for a later poll.");
        }
    }
}
