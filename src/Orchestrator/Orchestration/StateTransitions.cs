using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration.Policies;

namespace Orchestrator.Orchestration;

/// <summary>
/// The <c>set_state</c> procedure: lock the run, run the chosen policy and the bookkeeping transforms
/// around writing the proposed state, and save. It works inside the caller's transaction, which commits
/// or rolls back the transition as a whole (nested transitions, such as a subflow's parent task run,
/// included).
/// </summary>
public sealed class StateTransitions(
    OrchestratorDbContext db,
    TimeProvider time,
    IOptions<OrchestrationOptions> options,
    ILogger<StateTransitions> logger)
{
    public Task<OrchestrationResult> SetFlowRunStateAsync(
        Guid flowRunId, State proposed, bool force, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken) =>
        SetFlowRunStateAsync(flowRunId, proposed, force ? MinimalFlowPolicy.Instance : CoreFlowPolicy.Instance, parameters, cancellationToken);

    public Task<OrchestrationResult> SetTaskRunStateAsync(
        Guid taskRunId, State proposed, bool force, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken) =>
        SetTaskRunStateAsync(taskRunId, proposed, force ? MinimalTaskPolicy.Instance : CoreTaskPolicy.Instance, parameters, cancellationToken);

    /// <summary>With a policy of the caller's choosing: the API picks core or minimal; tests pick subsets.</summary>
    internal async Task<OrchestrationResult> SetFlowRunStateAsync(
        Guid flowRunId, State proposed, OrchestrationPolicy policy, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        var run = await LockAsync<FlowRun>(db.IsPostgres ? RunQueries.LockFlowRunOnPostgres : RunQueries.FlowRunWithState, flowRunId, cancellationToken)
            ?? throw new ObjectNotFoundException($"Flow run with id {flowRunId} not found");
        return await WriteFailureEndsTransition(run.Id, OrchestrateAsync(run, proposed, policy, parameters, cancellationToken));
    }

    /// <summary>
    /// The initial state of a flow run this transaction has just inserted (forced, as 2.7.0 does): the
    /// row is not visible to anyone else yet, so there is nothing to lock or read back.
    /// </summary>
    public Task<OrchestrationResult> SetInitialFlowRunStateAsync(
        FlowRun run, State initial, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken) =>
        OrchestrateAsync(run, initial, MinimalFlowPolicy.Instance, parameters, cancellationToken);

    /// <inheritdoc cref="SetInitialFlowRunStateAsync"/>
    public Task<OrchestrationResult> SetInitialTaskRunStateAsync(TaskRun run, State initial, CancellationToken cancellationToken) =>
        OrchestrateAsync(run, initial, MinimalTaskPolicy.Instance, parameters: null, cancellationToken);

    private Task<OrchestrationResult> OrchestrateAsync(
        FlowRun run, State proposed, OrchestrationPolicy policy, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        var context = new FlowOrchestrationContext(db, time, run, run.State?.ToState(), proposed, parameters)
        {
            Options = options.Value,
            Transitions = this,
        };
        return OrchestrateAsync(context, policy, GlobalFlowPolicy.Instance,
            state => FlowRunState.From(state, run.Id, context.Now), cancellationToken);
    }

    internal async Task<OrchestrationResult> SetTaskRunStateAsync(
        Guid taskRunId, State proposed, OrchestrationPolicy policy, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        var run = await LockAsync<TaskRun>(db.IsPostgres ? RunQueries.LockTaskRunOnPostgres : RunQueries.TaskRunWithState, taskRunId, cancellationToken)
            ?? throw new ObjectNotFoundException($"Task run with id {taskRunId} not found");
        return await WriteFailureEndsTransition(run.Id, OrchestrateAsync(run, proposed, policy, parameters, cancellationToken));
    }

    private Task<OrchestrationResult> OrchestrateAsync(
        TaskRun run, State proposed, OrchestrationPolicy policy, IReadOnlyDictionary<string, object?>? parameters, CancellationToken cancellationToken)
    {
        var context = new TaskOrchestrationContext(db, time, run, run.State?.ToState(), proposed, parameters)
        {
            Options = options.Value,
            Transitions = this,
        };
        return OrchestrateAsync(context, policy, GlobalTaskPolicy.Instance,
            state => TaskRunState.From(state, run.Id, context.Now), cancellationToken);
    }

    /// <summary>
    /// Decision D3: the run row is locked for the rest of the transaction, so two proposals for one run
    /// are decided one after the other. On PostgreSQL the lock is taken in a subquery and the current
    /// state joined to it, in one statement. When that statement had to wait for another transition of
    /// the run, the lock returns the run row as that transition left it, but the join still reads the
    /// state rows of the snapshot taken before the wait, where the run's new state does not exist yet:
    /// the run then comes back pointing at a state that did not load, and a second statement, with a
    /// snapshot of its own, reads it (the race tests catch a transition decided from a stale state).
    /// SQLite transactions here are immediate, which already serializes every writer.
    /// </summary>
    private async Task<TRun?> LockAsync<TRun>(Func<OrchestratorDbContext, Guid, CancellationToken, Task<TRun?>> query, Guid id, CancellationToken cancellationToken)
        where TRun : Run
    {
        var run = await query(db, id, cancellationToken);
        if (run?.StateId is not null)
        {
            var current = db.Entry((object)run).Reference(nameof(TaskRun.State));
            if (current.CurrentValue is null)
            {
                // The include marked the reference loaded, and a loaded reference is not read again.
                current.IsLoaded = false;
                await current.LoadAsync(cancellationToken);
            }
        }

        return run;
    }

    /// <summary>
    /// A transition's writes reach the database when it is saved. If they cannot be written, the
    /// transaction is lost (PostgreSQL ends it at the failed statement), so the request answers ABORT.
    /// </summary>
    private async Task<OrchestrationResult> WriteFailureEndsTransition(Guid runId, Task<OrchestrationResult> transition)
    {
        try
        {
            return await transition;
        }
        catch (DbUpdateException error)
        {
            logger.LogWarning(error, "Writing the state of run {RunId} failed", runId);
            throw new StateWriteFailedException(runId, error);
        }
    }

    private async Task<OrchestrationResult> OrchestrateAsync(
        OrchestrationContext context,
        OrchestrationPolicy policy,
        OrchestrationPolicy globalPolicy,
        Func<State, RunState> toRow,
        CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        State? initial = context.InitialState;
        State proposed = Stamp(context.ProposedState!, context.Now);
        context.ProposedState = proposed;

        StateType? from = initial?.Type;
        StateType? to = proposed.Type;
        var rules = policy.CompileTransitionRules(from, to).Concat(globalPolicy.CompileTransitionRules(from, to)).ToList();

        await OrchestrationEngine.RunAsync(context, rules, (ctx, ct) => Task.FromResult(StageState(ctx, toRow)), cancellationToken);

        // The new state, the run's bookkeeping and whatever the rules changed go to the database in one
        // batch. Nothing the rules read depends on the state row being there before this point.
        await db.SaveChangesAsync(cancellationToken);

        logger.LogInformation(
            "Transition of {RunKind} run {RunId}: {From} -> {Proposed} ({ProposedName}) -> {Validated} ({ValidatedName}) by {Policy} [{Rules}]: {Status} {Reason} in {ElapsedMs:0.0} ms",
            context is TaskOrchestrationContext ? "task" : "flow",
            context.Run.Id,
            from.ToMessageName(),
            proposed.Type.ToWire(),
            proposed.Name,
            context.ValidatedStateType.ToMessageName(),
            context.ValidatedState?.Name,
            policy.Name,
            string.Join(", ", context.Trace),
            context.ResponseStatus.ToString().ToUpperInvariant(),
            context.ResponseDetails.Reason,
            stopwatch.Elapsed.TotalMilliseconds);

        return new OrchestrationResult(context.ValidatedState, context.ResponseStatus, context.ResponseDetails);
    }

    /// <summary>
    /// The server owns a state's id and timestamp; a SCHEDULED state without a time is due now. The
    /// timestamp is taken once the run is locked, so a run's history is ordered as it was decided.
    /// </summary>
    private static State Stamp(State proposed, DateTime now)
    {
        var stamped = proposed with { Id = Ids.New(), Timestamp = now };
        if (stamped.Type == StateType.Scheduled && stamped.StateDetails.ScheduledTime is null)
        {
            stamped = stamped with { StateDetails = stamped.StateDetails with { ScheduledTime = now } };
        }

        return stamped;
    }

    /// <summary>
    /// Validation: the proposed state becomes the run's state in the unit of work. It is written with
    /// the rest of the transition; if that write fails the request answers ABORT and keeps nothing.
    /// </summary>
    private bool StageState(OrchestrationContext context, Func<State, RunState> toRow)
    {
        RunState row = toRow(context.ProposedState!);
        db.Add(row);
        context.Run.Updated = context.Now;
        context.Run.StateId = row.Id;
        db.Entry(context.Run).Reference(nameof(FlowRun.State)).CurrentValue = row;
        return true;
    }
}
