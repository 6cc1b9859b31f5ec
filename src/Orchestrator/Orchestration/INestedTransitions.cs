using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// The one way a rule changes the state of another run: a forced transition (bookkeeping only) of a task
/// run, decided inside the transaction of the transition that asked for it, so both commit or neither.
/// Used by <c>RetryFailedFlows</c> (old clients' failed tasks) and <c>UpdateSubflowParentTask</c>.
/// </summary>
public interface INestedTransitions
{
    Task<OrchestrationResult> ForceTaskRunStateAsync(Guid taskRunId, State state, CancellationToken cancellationToken);
}
