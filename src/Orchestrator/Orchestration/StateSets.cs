using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// Sets of state types a rule declares for FROM_STATES / TO_STATES; <c>null</c> stands for "no state".
/// </summary>
public static class StateSets
{
    public static readonly IReadOnlySet<StateType?> All =
        new HashSet<StateType?>(StateTypes.All.Select(t => (StateType?)t).Append(null));

    public static readonly IReadOnlySet<StateType?> Terminal =
        Of(StateType.Completed, StateType.Failed, StateType.Cancelled, StateType.Crashed);

    public static readonly IReadOnlySet<StateType?> None = new HashSet<StateType?>();

    public static IReadOnlySet<StateType?> Of(params StateType?[] types) => new HashSet<StateType?>(types);
}
