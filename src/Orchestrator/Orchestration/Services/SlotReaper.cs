using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Services;

/// <summary>
/// Takes back concurrency slots nobody will give back. A slot held by a RUNNING task run whose flow run
/// has ended, or whose lease has expired (<see cref="SlotLeases"/>), is released by crashing the run
/// through the orchestration engine with a message that says why. A slot naming a task run that no
/// longer exists or is not running is simply released. Each crash is a transition under the run's lock,
/// so with several instances a slot is taken back once.
/// </summary>
public sealed class SlotReaper(IServiceScopeFactory scopes, TimeProvider time, IOptions<OrchestrationOptions> options, ILogger<SlotReaper> logger)
    : LoopService(time, logger)
{
    private const int BatchSize = 500;

    private OrchestrationOptions Settings => options.Value;

    protected override bool Enabled => Settings.ReaperIntervalSeconds > 0;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Math.Max(1, Settings.ReaperIntervalSeconds));

    protected override string Describe(int done) => $"{done} concurrency slot holders released";

    public override async Task<int> RunCycleAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var changer = scope.ServiceProvider.GetRequiredService<RunStateChanger>();

        var limits = await db.ConcurrencyLimits.AsNoTracking().Select(l => new { l.Tag, l.ActiveSlots }).ToListAsync(cancellationToken);
        var tagsOf = limits
            .SelectMany(l => l.ActiveSlots.Select(id => (Id: id, l.Tag)))
            .GroupBy(slot => slot.Id)
            .ToDictionary(g => g.Key, g => g.Select(slot => slot.Tag).ToList());

        int released = 0;
        foreach (Guid[] batch in tagsOf.Keys.Chunk(BatchSize))
        {
            var holders = await db.TaskRuns.AsNoTracking()
                .Where(t => batch.Contains(t.Id))
                .Select(t => new
                {
                    t.Id,
                    t.FlowRunId,
                    t.StateType,
                    t.Updated,
                    Flow = db.FlowRuns.Where(f => f.Id == t.FlowRunId).Select(f => new { f.StateType, f.Updated }).FirstOrDefault(),
                })
                .ToDictionaryAsync(t => t.Id, cancellationToken);

            foreach (Guid id in batch)
            {
                if (!holders.TryGetValue(id, out var run) || run.StateType != StateType.Running)
                {
                    released += await ReleaseStrayAsync(db, id, tagsOf[id], cancellationToken) ? 1 : 0;
                    continue;
                }

                string? why;
                if (run.Flow?.StateType is { } flowState && StateSets.Terminal.Contains(flowState))
                {
                    why = SlotLeases.FlowRunEndedMessage(flowState);
                }
                else
                {
                    DateTime now = Time.UtcNow();
                    DateTime seen = run.Flow is { } flow && flow.Updated > run.Updated ? flow.Updated : run.Updated;
                    if (!SlotLeases.IsExpired(seen, now, Settings)
                        || await SlotLeases.ReadAsync(db, run.FlowRunId, cancellationToken) is { } signs && !SlotLeases.IsExpired(signs.LastSignOfLife, now, Settings))
                    {
                        continue;
                    }

                    why = $"No sign of life from it or its flow run for {Settings.SlotLeaseSeconds} s (Orchestration:SlotLeaseSeconds) while it held a concurrency slot; the slot was released by the server.";
                }

                released += await CrashAsync(changer, id, tagsOf[id], why, cancellationToken) ? 1 : 0;
            }
        }

        return released;
    }

    private async Task<bool> CrashAsync(RunStateChanger changer, Guid taskRunId, List<string> tags, string why, CancellationToken cancellationToken)
    {
        try
        {
            var result = await changer.CrashIdleSlotHolderAsync(taskRunId, why, cancellationToken);
            if (result.Status != SetStateStatus.Accept)
            {
                return false;
            }

            Logger.LogWarning("Task run {TaskRunId} crashed and its slots on {Tags} released: {Reason}", taskRunId, tags, why);
            return true;
        }
        catch (ObjectNotFoundException)
        {
            // Deleted since it was read; its deletion gave the slots back.
            return false;
        }
    }

    /// <summary>
    /// A slot whose holder is gone or not running: released under the limits' locks, after reading the
    /// run again behind them, since a transition that took the slot commits before it lets them go.
    /// </summary>
    private static async Task<bool> ReleaseStrayAsync(OrchestratorDbContext db, Guid taskRunId, List<string> tags, CancellationToken cancellationToken) =>
        await db.InTransactionAsync(async () =>
        {
            var locked = await ConcurrencySlots.LockLimitsAsync(db, tags, cancellationToken);
            bool running = await db.TaskRuns.AnyAsync(t => t.Id == taskRunId && t.StateType == StateType.Running, cancellationToken);
            if (running || !locked.Any(l => l.ActiveSlots.Contains(taskRunId)))
            {
                return false;
            }

            await ConcurrencySlots.ReleaseAsync(db, taskRunId, tags, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }, cancellationToken);
}
