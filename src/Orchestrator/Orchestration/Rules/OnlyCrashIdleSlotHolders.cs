using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// The slot reaper crashes a task run only if, once the run's row is locked, it is still RUNNING and its
/// flow run has ended or its slot lease has expired (<see cref="SlotLeases"/>). A run that finished, or
/// showed a sign of life, since the reaper looked is left alone: ABORT, nothing written. With several
/// server instances the second reaper to reach a run finds it CRASHED already.
/// </summary>
public sealed class OnlyCrashIdleSlotHolders : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Crashed);

    protected override async Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.InitialState is not { Type: StateType.Running })
        {
            AbortTransition(context, "The task run is no longer running.");
            return;
        }

        // A flow run that is gone or ended leaves nothing to wait for.
        var signs = await SlotLeases.ReadAsync(context.Db, context.TaskRun.FlowRunId, cancellationToken);
        if (signs is not { } flowRun || flowRun.State is { } state && StateSets.Terminal.Contains(state))
        {
            return;
        }

        if (!SlotLeases.IsExpired(flowRun.LastSignOfLife, context.Now, context.Options))
        {
            AbortTransition(context, "The task run's slot lease has not expired.");
        }
    }
}
