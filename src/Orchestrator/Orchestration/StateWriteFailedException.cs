namespace Orchestrator.Orchestration;

/// <summary>
/// A transition's state could not be written. The caller rolls the request's transaction back and
/// answers ABORT with the reason the engine gives when validation fails: nothing of the transition is
/// kept, and the run stays in the state it was in.
/// </summary>
public sealed class StateWriteFailedException(Guid runId, Exception inner)
    : Exception($"The state of run {runId} could not be written", inner)
{
    public static readonly OrchestrationResult Result =
        new(null, SetStateStatus.Abort, ResponseDetails.Abort(OrchestrationEngine.WriteFailedReason));
}
