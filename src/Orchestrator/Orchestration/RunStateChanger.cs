using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration.Policies;

namespace Orchestrator.Orchestration;

/// <summary>
/// One state change as one unit: begin the transaction, lock the run, run the policy's rules and the
/// bookkeeping transforms around staging the proposed state, write everything in one batch, commit. A
/// transition whose writes fail is rolled back whole and answered ABORT; the run stays as it was. The
/// endpoints call one method of this class and map its result to HTTP.
/// </summary>
public sealed class RunStateChanger(
    OrchestratorDbContext db,
    TimeProvider time,
    IOptions<OrchestrationOptions> options,
    ILogger<RunStateChanger> logger) : INestedTransitions
{
    /// <summary>The reason of the ABORT a transition gets when its writes cannot be saved.</summary>
    public const string WriteFailedReason = "Error validating state: [the state could not be written]";

    private static readonly OrchestrationResult WriteFailed =
        new(null, SetStateStatus.Abort, ResponseDetails.Abort(WriteFailedReason));

    /// <summary>
    /// Proposes a flow run state: the core policy decides, or the minimal one with <paramref name="force"/>.
    /// A flow run that ended leaves no slot behind: its task runs still holding one are crashed at once,
    /// each in a transition of its own after this one (the slot reaper catches any missed here).
    /// </summary>
    /// <param name="clientApiVersion">The client's <c>X-PREFECT-API-VERSION</c>; older clients get their failed tasks retried for them.</param>
    public async Task<OrchestrationResult> SetFlowRunStateAsync(
        Guid flowRunId, State proposed, bool force, Version? clientApiVersion, CancellationToken cancellationToken)
    {
        var result = await SetFlowRunStateAsync(flowRunId, proposed, force ? MinimalFlowPolicy.Instance : CoreFlowPolicy.Instance, clientApiVersion, cancellationToken);
        if (result is { Status: SetStateStatus.Accept or SetStateStatus.Reject, State: { } state } && StateSets.Terminal.Contains(state.Type))
        {
            await ReleaseSlotsOfEndedFlowRunAsync(flowRunId, state.Type, cancellationToken);
        }

        return result;
    }

    /// <summary>Proposes a task run state: the core policy decides, or the minimal one with <paramref name="force"/>.</summary>
    public Task<OrchestrationResult> SetTaskRunStateAsync(Guid taskRunId, State proposed, bool force, CancellationToken cancellationToken) =>
        SetTaskRunStateAsync(taskRunId, proposed, force ? MinimalTaskPolicy.Instance : CoreTaskPolicy.Instance, cancellationToken);

    /// <summary>With a policy of the caller's choosing: tests compose policies of the rules they pin.</summary>
    internal Task<OrchestrationResult> SetFlowRunStateAsync(
        Guid flowRunId, State proposed, OrchestrationPolicy policy, Version? clientApiVersion, CancellationToken cancellationToken) =>
        InOneUnitAsync(flowRunId, () => ChangeFlowRunAsync(flowRunId, proposed, policy, clientApiVersion, commits: true, cancellationToken), cancellationToken);

    /// <inheritdoc cref="SetFlowRunStateAsync(Guid, State, OrchestrationPolicy, Version?, CancellationToken)"/>
    internal Task<OrchestrationResult> SetTaskRunStateAsync(
        Guid taskRunId, State proposed, OrchestrationPolicy policy, CancellationToken cancellationToken) =>
        InOneUnitAsync(taskRunId, () => ChangeTaskRunAsync(taskRunId, proposed, policy, commits: true, cancellationToken), cancellationToken);

    /// <summary>
    /// Marks an overdue run "Late" (SCHEDULED, keeping its scheduled time), unless it stopped waiting
    /// before its row was locked (decision D9); ABORT then, and nothing written.
    /// </summary>
    public Task<OrchestrationResult> MarkLateAsync(Guid flowRunId, DateTime scheduledTime, CancellationToken cancellationToken)
    {
        var late = new State
        {
            Id = Guid.Empty,
            Type = StateType.Scheduled,
            Name = "Late",
            Timestamp = default,
            StateDetails = new StateDetails { ScheduledTime = scheduledTime },
        };
        return SetFlowRunStateAsync(flowRunId, late, LateRunsPolicy.Instance, clientApiVersion: null, cancellationToken);
    }

    /// <summary>
    /// Crashes a task run whose concurrency slot the reaper takes back, with <paramref name="message"/>
    /// saying why; its slots are released by the crash itself. ABORT, with nothing written, when the run
    /// has finished or shown a sign of life since the reaper looked.
    /// </summary>
    public Task<OrchestrationResult> CrashIdleSlotHolderAsync(Guid taskRunId, string message, CancellationToken cancellationToken)
    {
        var crashed = new State { Id = Guid.Empty, Type = StateType.Crashed, Name = "Crashed", Timestamp = default, Message = message };
        return SetTaskRunStateAsync(taskRunId, crashed, SlotReaperPolicy.Instance, cancellationToken);
    }

    private async Task ReleaseSlotsOfEndedFlowRunAsync(Guid flowRunId, StateType ended, CancellationToken cancellationToken)
    {
        var running = await db.TaskRuns.AsNoTracking()
            .Where(t => t.FlowRunId == flowRunId && t.StateType == StateType.Running && t.Tags.Count > 0)
            .Select(t => t.Id)
            .ToListAsync(cancellationToken);
        if (running.Count == 0)
        {
            return;
        }

        var held = (await db.ConcurrencyLimits.AsNoTracking().Select(l => l.ActiveSlots).ToListAsync(cancellationToken)).SelectMany(s => s).ToHashSet();
        foreach (Guid taskRunId in running.Where(held.Contains))
        {
            try
            {
                await CrashIdleSlotHolderAsync(taskRunId, SlotLeases.FlowRunEndedMessage(ended), cancellationToken);
            }
            catch (ObjectNotFoundException)
            {
                // Deleted meanwhile, and its slots with it.
            }
        }
    }

    /// <summary>
    /// Inserts a new flow run with its initial state (forced, as 2.7.0 does) in one transaction. False,
    /// with nothing written, when one of its unique keys (the idempotency key) is already taken.
    /// </summary>
    public Task<bool> TryCreateFlowRunAsync(FlowRun run, State initial, Version? clientApiVersion, CancellationToken cancellationToken) =>
        TryCreateAsync(run, () => OrchestrateAsync(FlowContext(run, initial, clientApiVersion), MinimalFlowPolicy.Instance, commits: true, cancellationToken), cancellationToken);

    /// <summary>
    /// Inserts a new task run with its initial state in one transaction. False, with nothing written, when
    /// the (flow run, task key, dynamic key) is taken: an earlier attempt of the flow or a concurrent
    /// request created it. Trying the insert first costs that rare case a rolled-back transaction, and
    /// every new run a lookup less. The initial state is decided before the insert is known to succeed;
    /// a failed insert rolls back whatever that decision wrote.
    /// </summary>
    public Task<bool> TryCreateTaskRunAsync(TaskRun run, State initial, CancellationToken cancellationToken) =>
        TryCreateAsync(run, () => OrchestrateAsync(TaskContext(run, initial), MinimalTaskPolicy.Instance, commits: true, cancellationToken), cancellationToken);

    Task<OrchestrationResult> INestedTransitions.ForceTaskRunStateAsync(Guid taskRunId, State state, CancellationToken cancellationToken) =>
        ChangeTaskRunAsync(taskRunId, state, MinimalTaskPolicy.Instance, commits: false, cancellationToken);

    private async Task<OrchestrationResult> InOneUnitAsync(Guid runId, Func<Task<OrchestrationResult>> change, CancellationToken cancellationToken)
    {
        try
        {
            return await db.InTransactionAsync(change, cancellationToken);
        }
        catch (DbUpdateException error)
        {
            // PostgreSQL ends the transaction at the failed statement, so nothing of it can be kept; the
            // tracker still holds the entities of the lost transaction and must not save them later.
            logger.LogWarning(error, "Writing the state of run {RunId} failed; the transition is rolled back and answered ABORT", runId);
            db.ChangeTracker.Clear();
            return WriteFailed;
        }
    }

    private async Task<bool> TryCreateAsync(Run run, Func<Task<OrchestrationResult>> setInitialState, CancellationToken cancellationToken)
    {
        try
        {
            return await db.InTransactionAsync(async () =>
            {
                db.Add(run);
                if (!db.IsPostgres)
                {
                    // SQLite checks the state's reference to its run at the insert, so the run goes first.
                    // On PostgreSQL the check waits for the commit, and the run, its first state and the
                    // COMMIT go out in one batch; a taken key fails that batch as it would this save.
                    await db.SaveChangesAsync(cancellationToken);
                }

                await setInitialState();
                return true;
            }, cancellationToken);
        }
        catch (DbUpdateException error) when (error.IsUniqueViolation())
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }

    private async Task<OrchestrationResult> ChangeFlowRunAsync(
        Guid flowRunId, State proposed, OrchestrationPolicy policy, Version? clientApiVersion, bool commits, CancellationToken cancellationToken)
    {
        var run = await RunQueries.FlowRunForTransition(db, flowRunId, cancellationToken)
            ?? throw new ObjectNotFoundException($"Flow run with id {flowRunId} not found");
        await LoadStateMissedByLockAsync(run, cancellationToken);
        return await OrchestrateAsync(FlowContext(run, proposed, clientApiVersion), policy, commits, cancellationToken);
    }

    private async Task<OrchestrationResult> ChangeTaskRunAsync(
        Guid taskRunId, State proposed, OrchestrationPolicy policy, bool commits, CancellationToken cancellationToken)
    {
        var locked = await RunQueries.TaskRunForTransition(db, taskRunId, cancellationToken)
            ?? throw new ObjectNotFoundException($"Task run with id {taskRunId} not found");
        bool waited = await LoadStateMissedByLockAsync(locked.Run, cancellationToken);
        var context = TaskContext(locked.Run, proposed, waited ? null : Task.FromResult(locked.FlowRunRunCount));
        return await OrchestrateAsync(context, policy, commits, cancellationToken);
    }

    private FlowOrchestrationContext FlowContext(FlowRun run, State proposed, Version? clientApiVersion) =>
        new(db, time, this, run, run.State?.ToState(), proposed) { Options = options.Value, ClientApiVersion = clientApiVersion };

    private TaskOrchestrationContext TaskContext(TaskRun run, State proposed, Task<int?>? flowRunRunCountAtLock = null) =>
        new(db, time, this, run, run.State?.ToState(), proposed) { Options = options.Value, FlowRunRunCountAtLock = flowRunRunCountAtLock };

    /// <summary>
    /// Decision D3: the run row is locked for the rest of the transaction, so two proposals for one run
    /// are decided one after the other. On PostgreSQL one statement locks the run row (FOR UPDATE OF the
    /// run only) and joins its current state. When that statement had to wait for another transition of
    /// the run, PostgreSQL rechecks the row as that transition left it, but with the state rows of the
    /// snapshot taken before the wait, where the run's new state does not exist yet: the run then comes
    /// back pointing at a state that did not load, and a second statement, with a snapshot of its own,
    /// reads it (RowLocksTests pins this; the race tests catch a transition decided from a stale state).
    /// True then: whatever else the lock's statement read is as old as that snapshot.
    /// SQLite transactions here are immediate, which already serializes every writer.
    /// </summary>
    private async Task<bool> LoadStateMissedByLockAsync(Run run, CancellationToken cancellationToken)
    {
        if (run.StateId is null)
        {
            return false;
        }

        var current = db.Entry((object)run).Reference(nameof(TaskRun.State));
        if (current.CurrentValue is not null)
        {
            return false;
        }

        // A reference the query returned as null counts as loaded, and a loaded reference is not read again.
        current.IsLoaded = false;
        await current.LoadAsync(cancellationToken);
        return true;
    }

    /// <param name="commits">
    /// The transition is its transaction's last work, and its batch carries the COMMIT; not so for a
    /// transition a rule makes inside another one.
    /// </param>
    private async Task<OrchestrationResult> OrchestrateAsync(
        OrchestrationContext context, OrchestrationPolicy policy, bool commits, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        bool isFlow = context is FlowOrchestrationContext;
        State? initial = context.InitialState;
        State proposed = Stamp(context.ProposedState!, context.Now);
        context.ProposedState = proposed;

        StateType? from = initial?.Type;
        StateType? to = proposed.Type;
        OrchestrationPolicy global = isFlow ? GlobalFlowPolicy.Instance : GlobalTaskPolicy.Instance;
        var rules = policy.CompileTransitionRules(from, to).Concat(global.CompileTransitionRules(from, to)).ToList();
        string kind = isFlow ? "flow" : "task";
        using var activity = OrchestrationTelemetry.StartTransition(kind, context.Run.Id, from, to, policy.Name);

        await OrchestrationEngine.RunAsync(context, rules, StageState, cancellationToken);

        // The new state, the run's bookkeeping and whatever the rules changed go to the database in one
        // batch, with the COMMIT on PostgreSQL. Nothing the rules read depends on the state row being
        // there before this point.
        if (commits)
        {
            await db.SaveChangesAndCommitAsync(cancellationToken);
        }
        else
        {
            await db.SaveChangesAsync(cancellationToken);
        }

        double elapsedMs = stopwatch.Elapsed.TotalMilliseconds;
        OrchestrationTelemetry.EndTransition(activity, context, kind, policy.Name, elapsedMs);
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogTransition(context, kind, from, proposed, policy.Name, elapsedMs);
        }

        return new OrchestrationResult(context.AnsweredState, context.ResponseStatus, context.ResponseDetails);
    }

    /// <summary>One line per transition; its parts are built only when the line is written.</summary>
    private void LogTransition(OrchestrationContext context, string kind, StateType? from, State proposed, string policy, double elapsedMs)
    {
        string status = context.ResponseStatus.ToWire();
        string validated = context.ValidatedState is { } state ? $"{state.Type.ToWire()} ({state.Name})" : "nothing written";
        string rulesApplied = string.Join(", ", context.Trace);
        if (context.ResponseDetails.Reason is { } reason)
        {
            logger.LogInformation(
                "Transition of {RunKind} run {RunId}: {From} -> {Proposed} ({ProposedName}) by {Policy} [{Rules}]: {Status}, {Validated}: {Reason} in {ElapsedMs:0.0} ms",
                kind, context.Run.Id, from.ToMessageName(), proposed.Type.ToWire(), proposed.Name, policy, rulesApplied, status, validated, reason, elapsedMs);
        }
        else
        {
            logger.LogInformation(
                "Transition of {RunKind} run {RunId}: {From} -> {Proposed} ({ProposedName}) by {Policy} [{Rules}]: {Status}, {Validated} in {ElapsedMs:0.0} ms",
                kind, context.Run.Id, from.ToMessageName(), proposed.Type.ToWire(), proposed.Name, policy, rulesApplied, status, validated, elapsedMs);
        }
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
    /// Validation: the proposed state becomes the run's state in the unit of work. It is written with the
    /// rest of the transition when the transition is saved; a failed write is answered by <see cref="InOneUnitAsync"/>.
    /// </summary>
    private void StageState(OrchestrationContext context)
    {
        State state = context.ProposedState!;
        RunState row = context is FlowOrchestrationContext
            ? FlowRunState.From(state, context.Run.Id, context.Now)
            : TaskRunState.From(state, context.Run.Id, context.Now);
        db.Add(row);
        context.Run.Updated = context.Now;
        context.Run.StateId = row.Id;
        db.Entry(context.Run).Reference(nameof(FlowRun.State)).CurrentValue = row;
    }
}
