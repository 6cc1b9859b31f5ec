using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration.Scheduling;

namespace Orchestrator.Orchestration.Services;

/// <summary>
/// Creates the upcoming runs of every deployment with an active schedule that has too few of them: fewer
/// than <c>MinRuns</c> auto-scheduled runs still to come, or none beyond <c>MinScheduledTime</c> from now
/// (server-services.md §6.1). Each deployment is scheduled in its own short transaction.
/// </summary>
public class Scheduler(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServiceOptions> options, ILogger<Scheduler> logger)
    : LoopService(time, logger)
{
    private readonly HashSet<Guid> _reported = [];

    protected SchedulerOptions Settings => options.Value.Scheduler;

    protected override bool Enabled => Settings.Enabled;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Settings.LoopSeconds);

    protected override string Describe(int done) => $"{done} scheduled runs created";

    /// <summary>The deployments this pass schedules.</summary>
    protected virtual IQueryable<Deployment> Due(OrchestratorDbContext db, DateTime now)
    {
        DateTime horizon = now + Settings.MinScheduledTime;
        return db.Deployments.Where(d => d.IsScheduleActive && d.Schedule != null)
            .Where(d =>
                db.FlowRuns.Count(r => r.DeploymentId == d.Id && r.AutoScheduled && r.StateType == StateType.Scheduled && r.NextScheduledStartTime >= now) < Settings.MinRuns
                || !db.FlowRuns.Any(r => r.DeploymentId == d.Id && r.AutoScheduled && r.StateType == StateType.Scheduled && r.NextScheduledStartTime >= horizon));
    }

    public override async Task<int> RunCycleAsync(CancellationToken cancellationToken)
    {
        List<Guid> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            due = await Due(db, Time.UtcNow()).OrderBy(d => d.Id).Select(d => d.Id).ToListAsync(cancellationToken);
        }

        int inserted = 0;
        foreach (var batch in due.Chunk(Settings.DeploymentBatchSize))
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var deployments = await db.Deployments.AsNoTracking().Where(d => batch.Contains(d.Id)).OrderBy(d => d.Id).ToListAsync(cancellationToken);
            foreach (var deployment in deployments)
            {
                if (ScheduleOf(deployment) is { } schedule)
                {
                    DateTime now = Time.UtcNow();
                    var window = new ScheduleWindow(now, now + Settings.MaxScheduledTime, Settings.MinScheduledTime, Settings.MinRuns, Settings.MaxRuns);
                    inserted += await db.InTransactionAsync(() => ScheduledRuns.InsertAsync(db, deployment, schedule, window, now, cancellationToken), cancellationToken);
                }
            }
        }

        return inserted;
    }

    /// <summary>The deployment's schedule; null, said once in the log, for a stored schedule that cannot be read.</summary>
    private Schedule? ScheduleOf(Deployment deployment)
    {
        try
        {
            return Schedule.FromJson(deployment.Schedule!.Value);
        }
        catch (FormatException error)
        {
            if (_reported.Add(deployment.Id))
            {
                Logger.LogError(error, "The schedule of deployment {DeploymentId} cannot be read; its runs are not created", deployment.Id);
            }

            return null;
        }
    }
}

/// <summary>
/// Schedules deployments created or changed in the last few seconds, every few seconds, whatever runs they
/// have, so a new or edited deployment gets its runs at once (server-services.md §6.2). Scheduling is
/// idempotent, so overlapping with the main pass is harmless.
/// </summary>
public sealed class RecentDeploymentsScheduler(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServiceOptions> options, ILogger<Scheduler> logger)
    : Scheduler(scopes, time, options, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(Settings.RecentLoopSeconds);

    protected override IQueryable<Deployment> Due(OrchestratorDbContext db, DateTime now)
    {
        DateTime since = now - Interval - TimeSpan.FromSeconds(1);
        return db.Deployments.Where(d => d.IsScheduleActive && d.Schedule != null && d.Updated >= since);
    }
}
