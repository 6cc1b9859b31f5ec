using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Data;
using Orchestrator.Schemas.Validation;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Policies;

namespace Orchestrator.Api;

/// <summary>Lets a user see which rules the core policies would run for a transition, in order.</summary>
public static class OrchestrationApi
{
    public sealed record RulesResponse(string Policy, string? From, string To, IReadOnlyList<string> Rules);

    public static IEndpointRouteBuilder MapOrchestrationApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/orchestration/{kind}/rules", ListRules).WithTags("Orchestration").WithSummary("The rules that apply to a transition, in the order they run.");
        return routes;
    }

    /// <param name="kind"><c>flow</c> or <c>task</c>.</param>
    /// <param name="from">The initial state type; empty or absent for a run with no state.</param>
    /// <param name="to">The proposed state type.</param>
    public static Results<Ok<RulesResponse>, NotFound<Detail>> ListRules(string kind, string? from, string? to)
    {
        OrchestrationPolicy? policy = kind switch
        {
            "flow" => CoreFlowPolicy.Instance,
            "task" => CoreTaskPolicy.Instance,
            _ => null,
        };
        if (policy is null)
        {
            return ErrorBodies.NotFound("Unknown run kind: use flow or task");
        }

        StateType? fromType = string.IsNullOrEmpty(from) ? null : StateTypes.FromWire(from.ToUpperInvariant());
        StateType? toType = StateTypes.FromWire(to?.ToUpperInvariant());
        if ((!string.IsNullOrEmpty(from) && fromType is null) || toType is null)
        {
            throw RequestValidationException.For(["query", toType is null ? "to" : "from"],
                "value is not a valid enumeration member; permitted: 'SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED'",
                "type_error.enum");
        }

        var rules = policy.CompileTransitionRules(fromType, toType).Select(r => r.Name).ToList();
        return TypedResults.Ok(new RulesResponse(policy.Name, fromType?.ToWire(), toType.Value.ToWire(), rules));
    }
}
