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
        var full = limits.FirstOrDefault(l => l.ActiveSlots.Count >= l.Limit);
        if (full is not null)
        {
            DelayTransition(context, WaitSeconds(context.Options), $"Concurrency limit for the {full.Tag} tag has been reached");
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
    }

    protected override async Task CleanupAsync(TaskOrchestrationContext context, CancellationToken cancellationToken)
    {
        await ConcurrencySlots.ReleaseAsync(context.Db, context.TaskRun.Id, _secured, cancellationToken);
    }

    /// <summary>Decision D5: the configured wait, with up to the configured jitter added at random.</summary>
    private static int WaitSeconds(OrchestrationOptions options) =>
        options.ConcurrencyLimitWaitSeconds
        + (options.ConcurrencyLimitWaitJitterSeconds > 0 ? Random.Shared.Next(options.ConcurrencyLimitWaitJitterSeconds + 1) : 0);
}
