using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Orchestration;

namespace Orchestrator.Api;

/// <summary>How a <c>set_state</c> decision is answered over HTTP.</summary>
public static class OrchestrationResults
{
    /// <summary>201 when a state was written (ACCEPT, REJECT), 200 when not (WAIT, ABORT).</summary>
    public static Results<Created<OrchestrationResult>, Ok<OrchestrationResult>> ToHttp(OrchestrationResult result) =>
        result.Status is SetStateStatus.Accept or SetStateStatus.Reject
            ? TypedResults.Created((string?)null, result)
            : TypedResults.Ok(result);
}
