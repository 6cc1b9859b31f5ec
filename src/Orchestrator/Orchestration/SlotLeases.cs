using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// A concurrency slot is held under a lease: it lasts <see cref="OrchestrationOptions.SlotLeaseSeconds"/>
/// from the holder's last sign of life. A Prefect 2.7 client sends no heartbeats, so the signs are what it
/// does send while a flow is alive: any state change of the task run, of its flow run or of another task
/// run of that flow run (each stamps the run's <c>updated</c>), and any log of the flow run (task logs name
/// it too). Nothing is written to renew a lease: the reaper reads these times when a slot looks idle, so
/// transitions and log batches cost no extra statement.
/// </summary>
public static class SlotLeases
{
    /// <summary>What a slot holder's flow run says about it, or null when the flow run no longer exists.</summary>
    /// <param name="State">The flow run's state type (null before its first state).</param>
    /// <param name="LastSignOfLife">The latest of the flow run's and its task runs' changes and its logs.</param>
    public readonly record struct FlowRunSigns(StateType? State, DateTime LastSignOfLife);

    /// <summary>The flow run's state and its latest sign of life, in one statement.</summary>
    public static async Task<FlowRunSigns?> ReadAsync(OrchestratorDbContext db, Guid flowRunId, CancellationToken cancellationToken)
    {
        var signs = await db.FlowRuns.AsNoTracking()
            .Where(f => f.Id == flowRunId)
            .Select(f => new
            {
                f.StateType,
                f.Updated,
                Tasks = db.TaskRuns.Where(t => t.FlowRunId == flowRunId).Max(t => (DateTime?)t.Updated),
                Logs = db.Logs.Where(l => l.FlowRunId == flowRunId).Max(l => (DateTime?)l.Created),
            })
            .FirstOrDefaultAsync(cancellationToken);
        if (signs is null)
        {
            return null;
        }

        DateTime latest = signs.Updated;
        foreach (DateTime? sign in new[] { signs.Tasks, signs.Logs })
        {
            if (sign > latest)
            {
                latest = sign.Value;
            }
        }

        return new FlowRunSigns(signs.StateType, latest);
    }

    /// <summary>The message of a task run crashed because its flow run ended while it held a slot.</summary>
    public static string FlowRunEndedMessage(StateType ended) =>
        $"Its flow run ended ({ended.ToWire()}) while it still held a concurrency slot; the slot was released by the server.";

    public static bool IsExpired(DateTime lastSignOfLife, DateTime now, OrchestrationOptions options) =>
        lastSignOfLife + TimeSpan.FromSeconds(options.SlotLeaseSeconds) <= now;
}
