using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>Tracks the scheduled time of the run's current SCHEDULED state, cleared once it leaves it.</summary>
public sealed class SetNextScheduledStartTime : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is not { } proposed)
        {
            return Task.CompletedTask;
        }

        if (context.InitialStateType == StateType.Scheduled)
        {
            context.Run.NextScheduledStartTime = null;
        }

        if (proposed.Type == StateType.Scheduled)
        {
            context.Run.NextScheduledStartTime = proposed.StateDetails.ScheduledTime;
        }

        return Task.CompletedTask;
    }
}
