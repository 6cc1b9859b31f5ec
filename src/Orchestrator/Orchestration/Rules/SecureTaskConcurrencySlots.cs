using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration.Rules;

/// <summary>
/// A task entering RUNNING takes one slot in the concurrency limit of each of its tags. All or nothing
/// (decision D2): if any limit is 0 the transition aborts, if any is full it waits, and in both cases no
/// slot is taken. The limit rows are locked in tag order (decision D3), so racing tasks on one or several
/// server instances never over-admit.
/// </summary>
public sealed class SecureTaskConcurrencySlots : OrchestrationRule<TaskOrchestrationContext>
{
    private IReadOnlyList<string> _secured = [];

    public override IReadOnlySet<StateType?> FromStates => StateSets.All;

    public override IReadOnlySet<StateType?> ToStates => StateSets.Of(StateType.Running);

    protected override async Task BeforeTransitionAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        var limits = await ConcurrencySlots.LockLimitsAsync(context.Db, context.TaskRun.Tags, cancellationToken);

        var zero = limits.FirstOrDefault(l => l.Limit == 0);
        if (zero is not null)
        {
            AbortTransition(context, $"The concurrency limit on tag \"{zero.Tag}\" is 0 and will deadlock if the task tries to run again.");
            return;
        }

        // A run that already holds a slot counts against the limit too, as in 2.7.0.
        var full = limits.Where(l => l.ActiveSlots.Count >= l.Limit).ToList();
        if (full.Count > 0)
        {
            int seconds = await WaitSecondsAsync(context, full, cancellationToken);
            DelayTransition(context, seconds, $"Concurrency limit for the {full[0].Tag} tag has been reached");
            foreach (var limit in full)
            {
                OrchestrationTelemetry.Waits(limit.Tag, context.TaskRun.Id, context.Now.AddSeconds(seconds));
            }

            return;
        }

        foreach (var limit in limits)
        {
            if (!limit.ActiveSlots.Contains(context.TaskRun.Id))
            {
                limit.ActiveSlots.Add(context.TaskRun.Id);
            }
        }

        _secured = limits.Select(l => l.Tag).ToArray();
        OrchestrationTelemetry.StopsWaiting(context.TaskRun.Id, _secured);
    }

    protected override async Task CleanupAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        await ConcurrencySlots.ReleaseAsync(context.Db, context.TaskRun.Id, _secured, cancellationToken);
    }

    /// <summary>
    /// Decision D5: the configured wait with fixed waits; adaptive waits last until a slot of every full
    /// limit should have freed (<see cref="SlotWait"/>), so the run can take them all when it comes back.
    /// </summary>
    private static async Task<int> WaitSecondsAsync(TaskOrchestrationContext context, List<ConcurrencyLimit> full, CancellationToken cancellationToken)
    {
        var options = context.Options;
        if (options.ConcurrencyLimitWait == SlotWaitMode.Fixed)
        {
            return options.ConcurrencyLimitWaitSeconds
                + (options.ConcurrencyLimitWaitJitterSeconds > 0 ? Random.Shared.Next(options.ConcurrencyLimitWaitJitterSeconds + 1) : 0);
        }

        var holders = full.SelectMany(l => l.ActiveSlots).Distinct().ToList();
        var taken = await context.Db.TaskRuns.AsNoTracking()
            .Where(t => holders.Contains(t.Id) && t.StateType == StateType.Running && t.StateTimestamp != null)
            .Select(t => new { t.Id, Since = t.StateTimestamp!.Value })
            .ToDictionaryAsync(t => t.Id, t => t.Since, cancellationToken);
        return full.Max(limit => SlotWait.Seconds(
            limit.ActiveSlots.Where(taken.ContainsKey).Select(id => taken[id]).ToList(),
            limit.MeanSlotSeconds, limit.Limit, context.Now, options.ConcurrencyLimitWaitSeconds, Random.Shared));
    }
}
