using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A task entering RUNNING after it already ran is renamed, so its history tells attempts apart:
/// "Retrying" after AwaitingRetry, "Rerunning" otherwise.
/// </summary>
public sealed class RenameReruns : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Running);

    protected override Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.TaskRun.RunCount > 0)
        {
            RenameState(context, context.InitialState?.Name == AwaitingRetry.Name ? "Retrying" : "Rerunning");
        }

        return Task.CompletedTask;
    }
}
