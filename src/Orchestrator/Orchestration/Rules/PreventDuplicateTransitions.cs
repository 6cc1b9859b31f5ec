using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Prefect's later rule of the same name: a proposal carrying the <c>state_details.transition_id</c> of
/// the run's current state was decided already (a client retrying after a lost answer). It gets that
/// answer again, the current state, and nothing is written: ACCEPT when the current state is what was
/// proposed, REJECT when a rule replaced it (the replacement carries the proposal's transition id).
/// Proposals without a transition id, as every 2.7 client sends, are untouched.
/// </summary>
public sealed class PreventDuplicateTransitions : OrchestrationRule
{
    public const string RepeatedReason = "This run has already made this state transition.";

    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context is { InitialState: { } current, ProposedState: { } proposed }
            && proposed.StateDetails.TransitionId is { } id
            && current.StateDetails.TransitionId == id)
        {
            bool accepted = current.Type == proposed.Type && current.Name == proposed.Name;
            RepeatEarlierAnswer(context,
                accepted ? SetStateStatus.Accept : SetStateStatus.Reject,
                accepted ? ResponseDetails.Accept() : ResponseDetails.Reject(RepeatedReason));
        }

        return Task.CompletedTask;
    }
}
