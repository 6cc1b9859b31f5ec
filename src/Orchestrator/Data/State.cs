using System.Text.Json.Serialization;
using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>
/// One immutable entry of a run's history. Rules receive states by reference, so immutability is what
/// guarantees that a rule can change a transition only through its mutators.
/// </summary>
public sealed record State
{
    public required Guid Id { get; init; }
    public required StateType Type { get; init; }
    public required string Name { get; init; }
    public required DateTime Timestamp { get; init; }
    public string? Message { get; init; }

    /// <summary>Opaque client JSON, kept verbatim; null when the client sent none.</summary>
    public RawJson? Data { get; init; }

    public StateDetails StateDetails { get; init; } = new();
}

/// <summary>The <c>state_details</c> object: run ids, scheduling and caching hints.</summary>
public sealed record StateDetails
{
    public Guid? FlowRunId { get; init; }
    public Guid? TaskRunId { get; init; }
    public Guid? ChildFlowRunId { get; init; }
    public DateTime? ScheduledTime { get; init; }
    public string? CacheKey { get; init; }
    public DateTime? CacheExpiration { get; init; }
    public bool UntrackableResult { get; init; }

    /// <summary>
    /// Sent by later Prefect clients to make a proposal idempotent; left out of answers when null, so a
    /// 2.7 client sees the details it knows.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Guid? TransitionId { get; init; }
}
