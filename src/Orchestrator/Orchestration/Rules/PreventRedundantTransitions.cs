using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Among the pre-terminal states a run only moves forward (none, SCHEDULED, PENDING, RUNNING); this is
/// what turns a second agent's duplicate PENDING or RUNNING proposal into ABORT.
/// </summary>
public sealed class PreventRedundantTransitions : OrchestrationRule
{
    private static readonly IReadOnlySet<StateType?> Ranked =
        StateSets.Of(null, StateType.Scheduled, StateType.Pending, StateType.Running);

    public override IReadOnlySet<StateType?> FromStates => Ranked;

    public override IReadOnlySet<StateType?> ToStates => Ranked;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (Rank(context.ProposedStateType) <= Rank(context.InitialStateType))
        {
            AbortTransition(context,
                $"This run cannot transition to the {context.ProposedStateType.ToMessageName()} state from the {context.InitialStateType.ToMessageName()} state.");
        }

        return Task.CompletedTask;
    }

    private static int Rank(StateType? type) => type switch
    {
        null => 0,
        StateType.Scheduled => 1,
        StateType.Pending => 2,
        _ => 3,
    };
}
