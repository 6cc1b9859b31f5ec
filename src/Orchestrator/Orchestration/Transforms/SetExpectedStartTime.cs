using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>
/// Fixes when the run was first expected to start: its first scheduled time, or the time of its first
/// state when it was never scheduled.
/// </summary>
public sealed class SetExpectedStartTime : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is { } proposed && context.Run.ExpectedStartTime is null)
        {
            context.Run.ExpectedStartTime = proposed.Type == StateType.Scheduled
                ? proposed.StateDetails.ScheduledTime
                : proposed.Timestamp;
        }

        return Task.CompletedTask;
    }
}
