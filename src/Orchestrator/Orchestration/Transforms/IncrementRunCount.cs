using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>Counts entries into RUNNING, the current attempt included; retry rules compare against it.</summary>
public sealed class IncrementRunCount : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { Type: StateType.Running })
        {
            context.Run.RunCount += 1;
        }

        return Task.CompletedTask;
    }
}
