using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// Remembers on the task the flow run's run count at the moment the task starts running; terminal-state
/// protection compares against it to tell whether the flow has since been retried.
/// </summary>
public sealed class UpdateFlowRunTrackerOnTasks : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Running);

    protected override async Task AfterTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        int flowRunRunCount = await context.ReadFlowRunRunCountAsync(cancellationToken)
            ?? throw new ObjectNotFoundException(
                $"Unable to read flow run associated with task run: {context.TaskRun.Id}, this flow run might have been deleted");
        context.TaskRun.FlowRunRunCount = flowRunRunCount;
    }
}
