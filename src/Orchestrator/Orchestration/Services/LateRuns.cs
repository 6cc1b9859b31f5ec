using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Services;

/// <summary>
/// Marks flow runs still SCHEDULED "Scheduled" a few seconds after their time as "Late", through the
/// orchestration engine (server-services.md §7). Each mark is its own transition under the run's lock, so
/// with several server instances a run is marked once and a run an agent just picked up is not touched.
/// </summary>
public sealed class LateRuns(IServiceScopeFactory scopes, TimeProvider time, IOptions<ServiceOptions> options, ILogger<LateRuns> logger)
    : LoopService(time, logger)
{
    private readonly HashSet<Guid> _reported = [];

    private LateRunsOptions Settings => options.Value.LateRuns;

    protected override bool Enabled => Settings.Enabled;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Settings.LoopSeconds);

    protected override string Describe(int done) => $"{done} runs marked late";

    public override async Task<int> RunCycleAsync(CancellationToken cancellationToken)
    {
        DateTime threshold = Time.UtcNow() - TimeSpan.FromSeconds(Settings.AfterSeconds);
        int marked = 0;
        var visited = new HashSet<Guid>();
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var overdue = await db.FlowRuns.AsNoTracking()
                .Where(r => r.StateType == StateType.Scheduled && r.StateName == "Scheduled" && r.NextScheduledStartTime <= threshold)
                .OrderBy(r => r.NextScheduledStartTime)
                .Select(r => new { r.Id, r.NextScheduledStartTime })
                .Take(Settings.BatchSize)
                .ToListAsync(cancellationToken);
            var changer = scope.ServiceProvider.GetRequiredService<RunStateChanger>();
            var fresh = overdue.Where(r => visited.Add(r.Id)).ToList();
            foreach (var run in fresh)
            {
                try
                {
                    var result = await changer.MarkLateAsync(run.Id, run.NextScheduledStartTime!.Value, cancellationToken);
                    marked += result.Status == SetStateStatus.Accept ? 1 : 0;
                }
                catch (ObjectNotFoundException)
                {
                    // Deleted since it was selected: nothing to mark.
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    if (_reported.Add(run.Id))
                    {
                        Logger.LogError(error, "Run {FlowRunId} could not be marked late; the others are marked as usual", run.Id);
                    }
                }
            }

            if (overdue.Count < Settings.BatchSize || fresh.Count == 0)
            {
                return marked;
            }
        }
    }
}
