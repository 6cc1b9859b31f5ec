namespace Orchestrator.Orchestration.Transforms;

/// <summary>A subflow's states point at the task run that stands for it in the parent flow run.</summary>
public sealed class UpdateSubflowStateDetails : UniversalTransform
{
    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context is FlowOrchestrationContext { FlowRun.ParentTaskRunId: { } parentTaskRunId, ProposedState: { } proposed })
        {
            ReplaceProposedState(context, proposed with { StateDetails = proposed.StateDetails with { TaskRunId = parentTaskRunId } });
        }

        return Task.CompletedTask;
    }
}
