using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A finished flow run stays finished, except for a manual restart: a SCHEDULED state named exactly
/// "AwaitingRetry" is accepted for runs created from a deployment.
/// </summary>
public sealed class HandleFlowTerminalStateTransitions : OrchestrationRule<FlowOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.Terminal;

    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    protected override Task BeforeTransitionAsync(FlowOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { Type: StateType.Scheduled, Name: "AwaitingRetry" })
        {
            if (context.FlowRun.DeploymentId is null)
            {
                AbortTransition(context, "Cannot restart a run without an associated deployment.");
            }

            return Task.CompletedTask;
        }

        AbortTransition(context, "This run has already terminated.");
        return Task.CompletedTask;
    }
}
