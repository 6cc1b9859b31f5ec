using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>Records when the run first entered RUNNING; later attempts keep the first start.</summary>
public sealed class SetStartTime : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { Type: StateType.Running } proposed && context.Run.StartTime is null)
        {
            context.Run.StartTime = proposed.Timestamp;
        }

        return Task.CompletedTask;
    }
}
