using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A run cannot leave a SCHEDULED state before its scheduled time: it is told to WAIT for the whole
/// seconds left. As in 2.7.0 this holds for every target type; use <c>force</c> to cancel early.
/// </summary>
public sealed class WaitForScheduledTime : OrchestrationRule
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.Of(StateType.Scheduled);

    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        DateTime scheduledTime = context.InitialState?.StateDetails.ScheduledTime
            ?? throw new InvalidOperationException("The scheduled state has no scheduled time.");
        int delay = (int)Math.Truncate((scheduledTime - context.Now).TotalSeconds);
        if (delay > 0)
        {
            DelayTransition(context, delay, "Scheduled time is in the future");
        }

        return Task.CompletedTask;
    }
}
