namespace Orchestrator.Orchestration.Transforms;

/// <summary>Mirrors the final proposed state's type onto the run, so queries need not join the state.</summary>
public sealed class SetRunStateType : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { } proposed)
        {
            context.Run.StateType = proposed.Type;
        }

        return Task.CompletedTask;
    }
}
