using Orchestrator.Orchestration.Rules;
using Orchestrator.Orchestration.Transforms;

namespace Orchestrator.Orchestration.Policies;

/// <summary>The rules protecting flow runs when a client proposes a state; the order is the priority.</summary>
public static class CoreFlowPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(CoreFlowPolicy),
    [
        () => new PreventDuplicateTransitions(),
        () => new HandleFlowTerminalStateTransitions(),
        () => new PreventRedundantTransitions(),
        () => new WaitForScheduledTime(),
        () => new RetryFailedFlows(),
        () => new SecureWorkQueueConcurrencySlots(),
    ]);
}

/// <summary>
/// The rules for task runs. A repeated proposal is answered as before, ahead of everything; then a
/// cache hit wins over everything else; slots are secured before
/// the scheduled-time wait so a waiting run's cleanup gives them back.
/// </summary>
public static class CoreTaskPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(CoreTaskPolicy),
    [
        () => new PreventDuplicateTransitions(),
        () => new CacheRetrieval(),
        () => new HandleTaskTerminalStateTransitions(),
        () => new PreventRedundantTransitions(),
        () => new SecureTaskConcurrencySlots(),
        () => new WaitForScheduledTime(),
        () => new RetryFailedTasks(),
        () => new RenameReruns(),
        () => new UpdateFlowRunTrackerOnTasks(),
        () => new CacheInsertion(),
        () => new ReleaseTaskConcurrencySlots(),
    ]);
}

/// <summary>Used for forced flow transitions: no protective rule runs, only bookkeeping.</summary>
public static class MinimalFlowPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(MinimalFlowPolicy), []);
}

/// <summary>Used for forced task transitions: only slot release, so a forced exit never leaks a slot.</summary>
public static class MinimalTaskPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(MinimalTaskPolicy),
    [
        () => new ReleaseTaskConcurrencySlots(),
    ]);
}

/// <summary>The bookkeeping every flow-run transition gets, in order, subflow mirroring last.</summary>
public static class GlobalFlowPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(GlobalFlowPolicy),
    [
        .. GlobalTaskPolicy.Bookkeeping,
        () => new UpdateSubflowParentTask(),
        () => new UpdateSubflowStateDetails(),
        () => new QueueFlowRunNotifications(),
    ]);
}

/// <summary>The bookkeeping every task-run transition gets, in order.</summary>
public static class GlobalTaskPolicy
{
    internal static readonly Func<OrchestrationRule>[] Bookkeeping =
    [
        () => new SetRunStateType(),
        () => new SetRunStateName(),
        () => new SetRunStateTimestamp(),
        () => new SetStartTime(),
        () => new SetEndTime(),
        () => new IncrementRunCount(),
        () => new IncrementRunTime(),
        () => new SetExpectedStartTime(),
        () => new SetNextScheduledStartTime(),
        () => new UpdateStateDetails(),
    ];

    public static readonly OrchestrationPolicy Instance = new(nameof(GlobalTaskPolicy), Bookkeeping);
}

/// <summary>The late-runs service's policy: the mark is made only on runs still waiting (decision D9).</summary>
public static class LateRunsPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(LateRunsPolicy),
    [
        () => new OnlyMarkScheduledRunsLate(),
    ]);
}

/// <summary>The slot reaper's policy: only a run still holding an idle slot is crashed, which gives its slots back.</summary>
public static class SlotReaperPolicy
{
    public static readonly OrchestrationPolicy Instance = new(nameof(SlotReaperPolicy),
    [
        () => new OnlyCrashIdleSlotHolders(),
        () => new ReleaseTaskConcurrencySlots(),
    ]);
}
