using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Decision D9: the late-runs service marks a run "Late" only while it is still SCHEDULED and named
/// "Scheduled" when its row is locked. An agent that picked the run up in the meantime (PENDING), a retry
/// waiting as AwaitingRetry, or a run already marked, is left alone: the proposal is aborted, nothing is
/// written. 2.7.0 forces the state without a lock and can undo a pick-up.
/// </summary>
public sealed class OnlyMarkScheduledRunsLate : OrchestrationRule<FlowOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Scheduled);

    protected override Task BeforeTransitionAsync(FlowOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.InitialState is not { Type: StateType.Scheduled, Name: "Scheduled" })
        {
            AbortTransition(context, "The run is no longer waiting for its scheduled time.");
        }

        return Task.CompletedTask;
    }
}
