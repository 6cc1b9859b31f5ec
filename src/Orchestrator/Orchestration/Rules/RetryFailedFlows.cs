using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A flow run that fails with retries left is rescheduled instead: REJECT to "AwaitingRetry" at now plus
/// the retry delay. For clients older than API 0.8.3, which do not re-run failed tasks themselves, the
/// flow's failed task runs are also forced into AwaitingRetry with a fresh run count.
/// </summary>
public sealed class RetryFailedFlows : OrchestrationRule<FlowOrchestrationContext>
{
    private static readonly Version FirstVersionRetryingItsOwnTasks = new(0, 8, 3);

    public override IReadOnlySet<StateType?> FromStates => StateSets.Of(StateType.Running);

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Failed);

    protected override async Task BeforeTransitionAsync(FlowOrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.RunSettings.Retries is not { } retries || context.FlowRun.RunCount > retries)
        {
            return;
        }

        DateTime retryAt = AwaitingRetry.RetryAt(context);
        if (context.ClientApiVersion is { } version && version < FirstVersionRetryingItsOwnTasks)
        {
            var failedTaskRunIds = await context.Db.TaskRuns
                .Where(t => t.FlowRunId == context.FlowRun.Id && t.StateType == StateType.Failed)
                .Select(t => t.Id)
                .ToListAsync(cancellationToken);
            foreach (Guid taskRunId in failedTaskRunIds)
            {
                State retry = context.NewState(StateType.Scheduled, AwaitingRetry.Name, details: new StateDetails { ScheduledTime = retryAt });
                await context.Nested.ForceTaskRunStateAsync(taskRunId, retry, cancellationToken);
                var taskRun = await context.Db.TaskRuns.FirstAsync(t => t.Id == taskRunId, cancellationToken);
                taskRun.RunCount = 0;
            }
        }

        RejectTransition(context, AwaitingRetry.Build(context), "Retrying");
    }
}
