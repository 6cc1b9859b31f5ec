using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// A unit of orchestration logic. A rule declares the transitions it applies to and overrides the hooks
/// it needs; <see cref="OrchestrationEngine"/> decides whether a hook runs: a rule that does not match the
/// transition when entered is invalid and does nothing, and a rule whose transition was changed by a later
/// rule "fizzles" and runs <see cref="CleanupAsync"/> instead of <see cref="AfterTransitionAsync"/>.
/// A new instance serves each transition, so a rule may keep what its cleanup needs in fields.
/// </summary>
public abstract class OrchestrationRule
{
    private bool? _invalid;

    public abstract IReadOnlySet<StateType?> FromStates { get; }

    public abstract IReadOnlySet<StateType?> ToStates { get; }

    public virtual string Name => GetType().Name;

    /// <summary>The intended initial type this instance was built for; never changes.</summary>
    internal StateType? FromStateType { get; private set; }

    /// <summary>The intended proposed type; the rule's own reject, delay and abort overwrite it.</summary>
    internal StateType? ToStateType { get; private set; }

    /// <summary>What the rule did, for the transition's log line.</summary>
    internal string Outcome { get; private set; } = "passed";

    internal void Bind(StateType? fromStateType, StateType? toStateType)
    {
        FromStateType = fromStateType;
        ToStateType = toStateType;
    }

    /// <summary>Runs before the proposed state is written; the only place a rule may change the transition.</summary>
    public virtual Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs after the state is written, when the transition is still the one this rule saw.</summary>
    public virtual Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs instead of the after hook when a later rule changed the transition: undo side effects.</summary>
    public virtual Task CleanupAsync(OrchestrationContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    internal bool IsInvalid(OrchestrationContext context)
    {
        // Membership is re-checked on every call and can only turn the answer to "invalid"; the mismatch
        // check is decided once, on entry.
        if (!FromStates.Contains(FromStateType) || !ToStates.Contains(ToStateType))
        {
            _invalid = true;
        }

        _invalid ??= TransitionMismatch(context);
        return _invalid.Value;
    }

    internal bool IsFizzled(OrchestrationContext context) => _invalid != true && TransitionMismatch(context);

    private bool TransitionMismatch(OrchestrationContext context) =>
        FromStateType != context.InitialStateType || ToStateType != context.ProposedStateType;

    /// <summary>Replaces the proposed state; the client gets REJECT and this state.</summary>
    protected void RejectTransition(OrchestrationContext context, State state, string reason)
    {
        EnsureNotValidated(context);
        ToStateType = state.Type;

        // The replacement answers the proposal, so a repeat of the proposal finds it by its transition id.
        Guid? transitionId = context.ProposedState?.StateDetails.TransitionId;
        context.ProposedState = state.StateDetails.TransitionId is null && transitionId is not null
            ? state with { StateDetails = state.StateDetails with { TransitionId = transitionId } }
            : state;
        context.ResponseStatus = SetStateStatus.Reject;
        context.ResponseDetails = ResponseDetails.Reject(reason);
        Outcome = "rejected";
    }

    /// <summary>
    /// Writes nothing and answers with the run's current state: the proposal was decided before, and this
    /// is the answer it got then.
    /// </summary>
    protected void RepeatEarlierAnswer(OrchestrationContext context, SetStateStatus status, ResponseDetails details)
    {
        EnsureNotValidated(context);
        ToStateType = null;
        context.ProposedState = null;
        context.RepeatedState = context.InitialState;
        context.ResponseStatus = status;
        context.ResponseDetails = details;
        Outcome = "repeated";
    }

    /// <summary>Writes nothing and asks the client to propose again after <paramref name="seconds"/>.</summary>
    protected void DelayTransition(OrchestrationContext context, int seconds, string reason)
    {
        EnsureNotValidated(context);
        ToStateType = null;
        context.ProposedState = null;
        context.ResponseStatus = SetStateStatus.Wait;
        context.ResponseDetails = ResponseDetails.Wait(seconds, reason);
        Outcome = "delayed";
    }

    /// <summary>Writes nothing and tells the client to stop proposing.</summary>
    protected void AbortTransition(OrchestrationContext context, string reason)
    {
        EnsureNotValidated(context);
        ToStateType = null;
        context.ProposedState = null;
        context.ResponseStatus = SetStateStatus.Abort;
        context.ResponseDetails = ResponseDetails.Abort(reason);
        Outcome = "aborted";
    }

    /// <summary>Changes the proposed state's name; the type, and so every rule's validity, stays.</summary>
    protected void RenameState(OrchestrationContext context, string name)
    {
        if (context.ProposedState is not null)
        {
            context.ProposedState = context.ProposedState with { Name = name };
            Outcome = "renamed";
        }
    }

    protected static void UpdateContextParameters(OrchestrationContext context, string key, object? value) =>
        context.SetParameter(key, value);

    private static void EnsureNotValidated(OrchestrationContext context)
    {
        if (context.ValidatedState is not null)
        {
            throw new InvalidOperationException("The transition was already validated; rules may change it only before validation.");
        }
    }
}

/// <summary>A rule for one kind of run, with hooks typed to that kind's context.</summary>
public abstract class OrchestrationRule<TContext> : OrchestrationRule where TContext : OrchestrationContext
{
    public sealed override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) =>
        BeforeTransitionAsync((TContext)context, cancellationToken);

    public sealed override Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken) =>
        AfterTransitionAsync((TContext)context, cancellationToken);

    public sealed override Task CleanupAsync(OrchestrationContext context, CancellationToken cancellationToken) =>
        CleanupAsync((TContext)context, cancellationToken);

    protected virtual Task BeforeTransitionAsync(TContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    protected virtual Task AfterTransitionAsync(TContext context, CancellationToken cancellationToken) => Task.CompletedTask;

    protected virtual Task CleanupAsync(TContext context, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Bookkeeping that runs on every transition, without validity tracking: its before hook always runs and
/// its after hook runs unless a rule failed. It must itself ignore nullified (WAIT/ABORT) transitions.
/// </summary>
public abstract class UniversalTransform : OrchestrationRule
{
    public sealed override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public sealed override IReadOnlySet<StateType?> ToStates => StateSets.All;

    /// <summary>Transforms may rewrite the proposed state (the bookkeeping fields of its details).</summary>
    protected static void ReplaceProposedState(OrchestrationContext context, State state) => context.ProposedState = state;
}
