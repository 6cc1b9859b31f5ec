using Orchestrator.Data;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>
/// Mirrors a subflow's validated state onto its parent task run with a forced transition in the same
/// transaction, so the parent flow run sees the subflow as one of its tasks.
/// </summary>
public sealed class UpdateSubflowParentTask : UniversalTransform
{
    public override async Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context is not FlowOrchestrationContext { FlowRun.ParentTaskRunId: { } parentTaskRunId } flow
            || context.ValidatedState is not { } validated)
        {
            return;
        }

        // The parent's transition stamps its own id and timestamp on the copy.
        State mirrored = validated with { StateDetails = validated.StateDetails with { ChildFlowRunId = flow.FlowRun.Id } };
        await context.Nested.ForceTaskRunStateAsync(parentTaskRunId, mirrored, cancellationToken);
    }
}
