using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>
/// Clears the end time when a run leaves a terminal state, and sets it when a run that has started enters
/// one; a run that never started gets no end time.
/// </summary>
public sealed class SetEndTime : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is not { } proposed)
        {
            return Task.CompletedTask;
        }

        if (context.InitialStateType.IsTerminal() && !proposed.Type.IsTerminal())
        {
            context.Run.EndTime = null;
        }

        if (proposed.Type.IsTerminal() && context.Run.StartTime is not null && context.Run.EndTime is null)
        {
            context.Run.EndTime = proposed.Timestamp;
        }

        return Task.CompletedTask;
    }
}
