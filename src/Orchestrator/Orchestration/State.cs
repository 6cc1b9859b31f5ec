using System.Text.Json.Serialization;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration;

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
}

/// <summary>What <c>set_state</c> answers; the HTTP status follows from its status.</summary>
public enum SetStateStatus
{
    Accept,
    Reject,
    Wait,
    Abort,
}

/// <summary>The <c>details</c> union of an orchestration result, discriminated by <c>type</c>.</summary>
public sealed record ResponseDetails
{
    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? DelaySeconds { get; init; }

    public static ResponseDetails Accept() => new() { Type = "accept_details" };
    public static ResponseDetails Reject(string reason) => new() { Type = "reject_details", Reason = reason };
    public static ResponseDetails Wait(int seconds, string reason) => new() { Type = "wait_details", DelaySeconds = seconds, Reason = reason };
    public static ResponseDetails Abort(string reason) => new() { Type = "abort_details", Reason = reason };
}

public sealed record OrchestrationResult(State? State, SetStateStatus Status, ResponseDetails Details);
