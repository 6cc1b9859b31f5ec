using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration;

/// <summary>
/// Everything one transition's rules share: the live run, the initial, proposed and validated states, and
/// the answer being built. States are immutable records, so a rule changes the transition only through
/// the mutators of <see cref="OrchestrationRule"/>; the run entity is live and its changes are saved.
/// </summary>
public abstract class OrchestrationContext
{
    private readonly Dictionary<string, object?> _parameters = [];

    protected OrchestrationContext(
        OrchestratorDbContext db,
        TimeProvider time,
        INestedTransitions nested,
        State? initialState,
        State? proposedState)
    {
        Db = db;
        Nested = nested;
        InitialState = initialState;
        ProposedState = proposedState;
        Now = time.UtcNow();
        if (initialState is not null && Now <= initialState.Timestamp)
        {
            // Keep each run's history strictly ordered even when clocks of several server instances
            // disagree: a new state is never older than the one it follows.
            Now = initialState.Timestamp.AddTicks(10);
        }
    }

    public OrchestratorDbContext Db { get; }

    public OrchestrationOptions Options { get; init; } = new();

    /// <summary>How a rule changes the state of another run within this transition.</summary>
    public INestedTransitions Nested { get; }

    /// <summary>The instant of this transition: the timestamp of every state it creates.</summary>
    public DateTime Now { get; }

    public abstract Run Run { get; }

    public State? InitialState { get; internal set; }

    public State? ProposedState { get; internal set; }

    public State? ValidatedState { get; internal set; }

    /// <summary>The run's current state, when a rule answered with it instead of writing a new one (a repeated proposal).</summary>
    public State? RepeatedState { get; internal set; }

    /// <summary>The state the client is answered with: the one written, else the current one for a repeated proposal.</summary>
    public State? AnsweredState => ValidatedState ?? RepeatedState;

    public SetStateStatus ResponseStatus { get; internal set; } = SetStateStatus.Accept;

    public ResponseDetails ResponseDetails { get; internal set; } = ResponseDetails.Accept();

    public Exception? OrchestrationError { get; internal set; }

    public IReadOnlyDictionary<string, object?> Parameters => _parameters;

    public StateType? InitialStateType => InitialState?.Type;

    public StateType? ProposedStateType => ProposedState?.Type;

    public StateType? ValidatedStateType => ValidatedState?.Type;

    public EmpiricalPolicy RunSettings => Run.EmpiricalPolicy;

    /// <summary>What each rule did, in order; written to the transition's log line.</summary>
    public List<RuleOutcome> Trace { get; } = [];

    internal void SetParameter(string key, object? value) => _parameters[key] = value;

    /// <summary>Builds a new state at this transition's instant; server-made states use it.</summary>
    public State NewState(StateType type, string name, string? message = null, RawJson? data = null, StateDetails? details = null) => new()
    {
        Id = Ids.New(),
        Type = type,
        Name = name,
        Timestamp = Now,
        Message = message,
        Data = data,
        StateDetails = details ?? new StateDetails(),
    };
}

public sealed class FlowOrchestrationContext(
    OrchestratorDbContext db,
    TimeProvider time,
    INestedTransitions nested,
    FlowRun run,
    State? initialState,
    State? proposedState)
    : OrchestrationContext(db, time, nested, initialState, proposedState)
{
    public FlowRun FlowRun { get; } = run;

    /// <summary>The API version the client sent (<c>X-PREFECT-API-VERSION</c>), or null without one.</summary>
    public Version? ClientApiVersion { get; init; }

    public override Run Run => FlowRun;
}

public sealed class TaskOrchestrationContext(
    OrchestratorDbContext db,
    TimeProvider time,
    INestedTransitions nested,
    TaskRun run,
    State? initialState,
    State? proposedState)
    : OrchestrationContext(db, time, nested, initialState, proposedState)
{
    public TaskRun TaskRun { get; } = run;

    public override Run Run => TaskRun;

    /// <summary>The parent flow run's run count as the task run's lock read it, when the lock did.</summary>
    internal Task<int?>? FlowRunRunCountAtLock { get; init; }

    /// <summary>The run count of the parent flow run, or null when it no longer exists.</summary>
    public Task<int?> ReadFlowRunRunCountAsync(CancellationToken cancellationToken = default) =>
        FlowRunRunCountAtLock ?? RunQueries.FlowRunRunCount(Db, TaskRun.FlowRunId, cancellationToken);
}

/// <summary>What one rule did in a transition (<c>passed</c>, <c>rejected</c>, <c>delayed</c>, …, or <c>fizzled</c>).</summary>
public readonly record struct RuleOutcome(string Rule, string Outcome)
{
    public override string ToString() => $"{Rule}:{Outcome}";
}
