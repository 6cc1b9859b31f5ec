using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A task that fails with retries left is rescheduled instead: REJECT to "AwaitingRetry" at now plus the
/// retry delay, keeping the failure's message and data.
/// </summary>
public sealed class RetryFailedTasks : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.Of(StateType.Running);

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Failed);

    protected override Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.RunSettings.Retries is { } retries && context.TaskRun.RunCount <= retries)
        {
            RejectTransition(context, AwaitingRetry.Build(context), "Retrying");
        }

        return Task.CompletedTask;
    }
}
