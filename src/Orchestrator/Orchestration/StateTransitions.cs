using Orchestrator.Infrastructure;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
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
        var run = await LockAsync(db.FlowRuns, "flow_run", flowRunId, r => r.State, cancellationToken)
            ?? throw new ObjectNotFoundException($"Flow run with id {flowRunId} not found");
        return await OrchestrateAsync(run, proposed, policy, parameters, cancellationToken);
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
        var run = await LockAsync(db.TaskRuns, "task_run", taskRunId, r => r.State, cancellationToken)
            ?? throw new ObjectNotFoundException($"Task run with id {taskRunId} not found");
        return await OrchestrateAsync(run, proposed, policy, parameters, cancellationToken);
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
    /// are decided one after the other. On PostgreSQL the current state is read by a statement of its
    /// own: a <c>SELECT ... FOR UPDATE</c> that waited for another transition returns the run row as that
    /// transition left it, but a join in the same statement would still see the state rows of the
    /// snapshot taken before the wait, and miss the new current state (the race tests caught this).
    /// SQLite transactions here are immediate, which already serializes every writer, so one query does.
    /// </summary>
    private async Task<TRun?> LockAsync<TRun, TState>(
        DbSet<TRun> runs, string table, Guid id, System.Linq.Expressions.Expression<Func<TRun, TState?>> state, CancellationToken cancellationToken)
        where TRun : Run
        where TState : RunState
    {
        if (!db.IsPostgres)
        {
            return await runs.Where(r => r.Id == id).Include(state).FirstOrDefaultAsync(cancellationToken);
        }

        // The table name is one of two constants, never user input.
#pragma warning disable EF1002
        var run = await runs.FromSqlRaw($"SELECT * FROM {table} WHERE id = {{0}} FOR UPDATE", id).FirstOrDefaultAsync(cancellationToken);
#pragma warning restore EF1002
        if (run is not null)
        {
            await db.Entry(run).Reference(state).LoadAsync(cancellationToken);
        }

        return run;
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

        bool writeFailed = false;
        await OrchestrationEngine.RunAsync(context, rules, async (ctx, ct) =>
        {
            bool written = await WriteStateAsync(ctx, toRow, ct);
            writeFailed |= !written;
            return written;
        }, cancellationToken);
        if (context.ValidatedState is not null)
        {
            context.Run.Updated = context.Now;
        }

        if (writeFailed && context.ValidatedState is null)
        {
            // The state could not be written: drop the bookkeeping the transforms did for it.
            await db.Entry(context.Run).ReloadAsync(cancellationToken);
        }

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

    private async Task<bool> WriteStateAsync(OrchestrationContext context, Func<State, RunState> toRow, CancellationToken cancellationToken)
    {
        RunState row = toRow(context.ProposedState!);
        Guid? previousStateId = context.Run.StateId;
        var stateReference = db.Entry(context.Run).Reference(nameof(FlowRun.State));
        object? previousState = stateReference.CurrentValue;
        db.Add(row);
        DateTime previousUpdated = context.Run.Updated;
        context.Run.Updated = context.Now;
        context.Run.StateId = row.Id;
        stateReference.CurrentValue = row;
        try
        {
            // Inside the request's transaction EF wraps this in a savepoint, so a failed write leaves the
            // transaction usable and the engine can retry or abort cleanly.
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException error)
        {
            logger.LogWarning(error, "Writing the state of run {RunId} failed", context.Run.Id);
            db.Entry(row).State = EntityState.Detached;
            context.Run.StateId = previousStateId;
            context.Run.Updated = previousUpdated;
            stateReference.CurrentValue = previousState;
            return false;
        }
    }
}
