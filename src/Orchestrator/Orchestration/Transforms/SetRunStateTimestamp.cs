namespace Orchestrator.Orchestration.Transforms;

/// <summary>Mirrors the final proposed state's timestamp onto the run.</summary>
public sealed class SetRunStateTimestamp : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { } proposed)
        {
            context.Run.StateTimestamp = proposed.Timestamp;
        }

        return Task.CompletedTask;
    }
}
