namespace Orchestrator.Orchestration.Transforms;

/// <summary>Mirrors the final proposed state's name (after any rename) onto the run.</summary>
public sealed class SetRunStateName : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { } proposed)
        {
            context.Run.StateName = proposed.Name;
        }

        return Task.CompletedTask;
    }
}
