using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A finished task stays finished, except that a failed, crashed or cancelled task may run again while
/// its flow run is retrying; its run count then starts over so its own retries apply again.
/// </summary>
public sealed class HandleTaskTerminalStateTransitions : OrchestrationRule<TaskOrchestrationContext>
{
    private int? _originalRunCount;

    public override IReadOnlySet<StateType?> FromStates => StateSets.Terminal;

    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    protected override async Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedStateType == StateType.Running
            && context.InitialStateType is StateType.Failed or StateType.Crashed or StateType.Cancelled)
        {
            _originalRunCount = context.TaskRun.RunCount;
            int? flowRunRunCount = await context.ReadFlowRunRunCountAsync(cancellationToken);
            // The tracker holds the flow's run count when this task last ran: a larger count now means
            // the flow is on a later attempt.
            if (flowRunRunCount is not null && context.TaskRun.FlowRunRunCount < flowRunRunCount)
            {
                context.TaskRun.RunCount = 0;
                RenameState(context, "Retrying");
                return;
            }
        }

        AbortTransition(context, "This run has already terminated.");
    }

    protected override Task CleanupAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (_originalRunCount is { } runCount)
        {
            context.TaskRun.RunCount = runCount;
        }

        return Task.CompletedTask;
    }
}
