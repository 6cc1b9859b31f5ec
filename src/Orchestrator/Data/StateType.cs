using System.Text.Json.Serialization;
using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>The eight kinds of state a run can be in; the JSON form is the upper-case name.</summary>
[JsonConverter(typeof(UpperCaseEnumConverter<StateType>))]
public enum StateType
{
    Scheduled,
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Crashed,
    Paused,
}

public static class StateTypes
{
    public static bool IsTerminal(this StateType type) =>
        type is StateType.Completed or StateType.Failed or StateType.Cancelled or StateType.Crashed;

    public static bool IsTerminal(this StateType? type) => type is { } t && t.IsTerminal();

    /// <summary>The name a state gets when the client sends none: the type word, capitalised.</summary>
    public static string DefaultName(this StateType type) => type switch
    {
        StateType.Scheduled => "Scheduled",
        StateType.Pending => "Pending",
        StateType.Running => "Running",
        StateType.Completed => "Completed",
        StateType.Failed => "Failed",
        StateType.Cancelled => "Cancelled",
        StateType.Crashed => "Crashed",
        StateType.Paused => "Paused",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>
    /// The wire spelling, which is also what the database stores. Asked for every state written or read,
    /// and by every log line and span of a transition, so the eight strings are made once.
    /// </summary>
    public static string ToWire(this StateType type) => WireSpellings[(int)type];

    public static StateType? FromWire(string? value) =>
        value is not null && WireNames.TryGetValue(value, out StateType type) ? type : null;

    /// <summary>How Python 3.7–3.10 printed the enum inside rule messages ("PENDING", "None").</summary>
    public static string ToMessageName(this StateType? type) => type is { } t ? t.ToWire() : "None";

    public static readonly IReadOnlyList<StateType> All = Enum.GetValues<StateType>();

    private static readonly string[] WireSpellings = All.Select(t => t.ToString().ToUpperInvariant()).ToArray();

    private static readonly Dictionary<string, StateType> WireNames =
        All.ToDictionary(t => t.ToWire(), StringComparer.Ordinal);
}
