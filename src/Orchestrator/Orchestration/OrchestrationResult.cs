using System.Text.Json.Serialization;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration;

/// <summary>What <c>set_state</c> answers; the HTTP status follows from its status.</summary>
[JsonConverter(typeof(UpperCaseEnumConverter<SetStateStatus>))]
public enum SetStateStatus
{
    Accept,
    Reject,
    Wait,
    Abort,
}

public static class SetStateStatuses
{
    /// <summary>The wire spelling (<c>ACCEPT</c>, …), for the transition's log line and its metrics.</summary>
    public static string ToWire(this SetStateStatus status) => status switch
    {
        SetStateStatus.Accept => "ACCEPT",
        SetStateStatus.Reject => "REJECT",
        SetStateStatus.Wait => "WAIT",
        SetStateStatus.Abort => "ABORT",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };
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
