using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Tests.Orchestration;

/// <summary>A rule whose sets and hooks a test chooses, counting how often each hook ran.</summary>
internal sealed class ProbeRule(
    IReadOnlySet<StateType?>? from = null,
    IReadOnlySet<StateType?>? to = null,
    Action<ProbeRule, OrchestrationContext>? before = null,
    Action<ProbeRule, OrchestrationContext>? after = null,
    string name = "ProbeRule") : OrchestrationRule
{
    public int Before { get; private set; }
    public int After { get; private set; }
    public int Cleanup { get; private set; }

    public override IReadOnlySet<StateType?> FromStates => from ?? StateSets.All;
    public override IReadOnlySet<StateType?> ToStates => to ?? StateSets.All;
    public override string Name => name;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        Before++;
        before?.Invoke(this, context);
        return Task.CompletedTask;
    }

    public override Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        After++;
        after?.Invoke(this, context);
        return Task.CompletedTask;
    }

    public override Task CleanupAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        Cleanup++;
        return Task.CompletedTask;
    }

    public void Reject(OrchestrationContext context, State state) => RejectTransition(context, state, "rejected by probe");
    public void Delay(OrchestrationContext context, int seconds) => DelayTransition(context, seconds, "delayed by probe");
    public void Abort(OrchestrationContext context) => AbortTransition(context, "aborted by probe");
    public void SetParameter(OrchestrationContext context, string key, object? value) => UpdateContextParameters(context, key, value);

    public bool Invalid(OrchestrationContext context) => IsInvalid(context);
    public bool Fizzled(OrchestrationContext context) => IsFizzled(context);
}

internal sealed class ProbeTransform(Action<OrchestrationContext>? before = null) : UniversalTransform
{
    public int Before { get; private set; }
    public int After { get; private set; }

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        Before++;
        before?.Invoke(context);
        return Task.CompletedTask;
    }

    public override Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        After++;
        return Task.CompletedTask;
    }
}

/// <summary>Builds contexts on in-memory runs, for engine tests that need no database.</summary>
internal static class Contexts
{
    public static State NewState(StateType type, string? name = null) => new()
    {
        Id = Guid.NewGuid(),
        Type = type,
        Name = name ?? type.DefaultName(),
        Timestamp = DateTime.UtcNow,
    };

    public static OrchestrationContext Task(StateType? initial, StateType? proposed) =>
        new TaskOrchestrationContext(null!, TimeProvider.System, NoNestedTransitions.Instance, new TaskRun { Id = Guid.NewGuid() },
            initial is { } i ? NewState(i) : null, proposed is { } p ? NewState(p) : null);

    public static OrchestrationContext Flow(StateType? initial, StateType? proposed) =>
        new FlowOrchestrationContext(null!, TimeProvider.System, NoNestedTransitions.Instance, new FlowRun { Id = Guid.NewGuid() },
            initial is { } i ? NewState(i) : null, proposed is { } p ? NewState(p) : null);

    /// <summary>Binds the rules to the context's intended transition, as a policy compiles them.</summary>
    public static List<OrchestrationRule> Bind(OrchestrationContext context, params OrchestrationRule[] rules)
    {
        foreach (var rule in rules)
        {
            rule.Bind(context.InitialStateType, context.ProposedStateType);
        }

        return [.. rules];
    }

    /// <summary>Staging as the state changer does it, without a database: points the run at the proposed state.</summary>
    public static void Stage(OrchestrationContext context) => context.Run.StateId = context.ProposedState!.Id;

    public static Task RunAsync(OrchestrationContext context, params OrchestrationRule[] rules) =>
        OrchestrationEngine.RunAsync(context, Bind(context, rules), Stage, CancellationToken.None);

    public static IEnumerable<StateType?> TypesAndNone => StateTypes.All.Select(t => (StateType?)t).Append(null);

    public static IEnumerable<object?[]> AllPairs =>
        from i in TypesAndNone from p in TypesAndNone select new object?[] { i, p };
}

/// <summary>Engine tests run one transition with no database; a rule that starts another one is a test bug.</summary>
internal sealed class NoNestedTransitions : INestedTransitions
{
    public static readonly NoNestedTransitions Instance = new();

    public Task<OrchestrationResult> ForceTaskRunStateAsync(Guid taskRunId, State state, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("Engine tests have no database to change another run in.");
}

/// <summary>Rejects every proposal to a PAUSED state: a type no other rule in these tests expects.</summary>
internal sealed class RejectToPaused : OrchestrationRule
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;
    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        RejectTransition(context, context.NewState(StateType.Paused, "Paused"), "paused by test");
        return Task.CompletedTask;
    }
}

internal sealed class DeleteParentFlowRunAfterwards : OrchestrationRule<TaskOrchestrationContext>
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;
    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    protected override Task AfterTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken) =>
        context.Db.FlowRuns.Where(f => f.Id == context.TaskRun.FlowRunId).ExecuteDeleteAsync(cancellationToken);
}

internal sealed class FailingRule : OrchestrationRule
{
    public override IReadOnlySet<StateType?> FromStates => StateSets.All;
    public override IReadOnlySet<StateType?> ToStates => StateSets.All;

    public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("rule failed");
}
