namespace Orchestrator.Orchestration.Transforms;

/// <summary>
/// Stamps the run's own ids into the state's details, whatever the client sent. A flow run keeps a
/// client-sent <c>task_run_id</c>, as Prefect 2.7.0 does.
/// </summary>
public sealed class UpdateStateDetails : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context.ProposedState is not { } proposed)
        {
            return Task.CompletedTask;
        }

        var details = context switch
        {
            TaskOrchestrationContext task => proposed.StateDetails with { FlowRunId = task.TaskRun.FlowRunId, TaskRunId = task.TaskRun.Id },
            _ => proposed.StateDetails with { FlowRunId = context.Run.Id },
        };
        ReplaceProposedState(context, proposed with { StateDetails = details });
        return Task.CompletedTask;
    }
}
