using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>Adds the time spent in RUNNING whenever a run leaves it (or is forced into it again).</summary>
public sealed class IncrementRunTime : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { } proposed && context.InitialState is { Type: StateType.Running } initial)
        {
            context.Run.TotalRunTime += proposed.Timestamp - initial.Timestamp;
        }

        return Task.CompletedTask;
    }
}
