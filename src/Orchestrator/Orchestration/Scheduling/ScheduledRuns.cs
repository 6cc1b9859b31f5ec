using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Scheduling;

/// <summary>How far ahead, and how many, runs are created for a deployment's schedule.</summary>
public sealed record ScheduleWindow(DateTime Start, DateTime End, TimeSpan MinTime, int MinRuns, int MaxRuns);

/// <summary>
/// Creates a deployment's upcoming runs from its schedule (server-services.md §5): SCHEDULED "Scheduled",
/// auto-scheduled, tagged <c>auto-scheduled</c>, with the deployment's parameters, tags, work queue and
/// infrastructure. Each date has an idempotency key, so a date that already has a run, in any state, gets
/// no second one. On PostgreSQL the deployment is locked for the transaction (an advisory lock), so server
/// instances scheduling it at once take turns and never both insert a date (decision D10).
/// </summary>
public static class ScheduledRuns
{
    public const string AutoScheduledTag = "auto-scheduled";

    /// <summary>
    /// Inserts the missing runs of the window for <paramref name="schedule"/>, the deployment's parsed
    /// schedule, and returns how many were inserted; none when the schedule is off.
    /// </summary>
    public static async Task<int> InsertAsync(
        OrchestratorDbContext db, Deployment deployment, Schedule schedule, ScheduleWindow window, DateTime now, CancellationToken cancellationToken)
    {
        if (!deployment.IsScheduleActive)
        {
            return 0;
        }

        var dates = Dates(schedule, window);
        if (dates.Count == 0)
        {
            return 0;
        }

        if (db.IsPostgres)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({LockKey(deployment.Id)})", cancellationToken);
        }

        var keys = dates.ToDictionary(d => IdempotencyKey(deployment.Id, d));
        var taken = await db.FlowRuns
            .Where(r => r.FlowId == deployment.FlowId && keys.Keys.Contains(r.IdempotencyKey!))
            .Select(r => r.IdempotencyKey!)
            .ToListAsync(cancellationToken);
        var runs = keys.Where(k => !taken.Contains(k.Key)).Select(k => NewRun(deployment, k.Value, k.Key, now)).ToList();
        if (runs.Count == 0)
        {
            return 0;
        }

        // A run and its first state point at each other: the runs first, then their states.
        db.FlowRuns.AddRange(runs);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var run in runs)
        {
            var state = FlowRunState.From(new State
            {
                Id = Ids.New(),
                Type = StateType.Scheduled,
                Name = StateType.Scheduled.DefaultName(),
                Timestamp = now,
                Message = "Flow run scheduled",
                StateDetails = new StateDetails { ScheduledTime = run.ExpectedStartTime },
            }, run.Id, now);
            db.FlowRunStates.Add(state);
            run.StateId = state.Id;
        }

        await db.SaveChangesAsync(cancellationToken);
        return runs.Count;
    }

    /// <summary>
    /// Deletes the deployment's auto-scheduled runs that are still SCHEDULED (any name), so a changed or
    /// deactivated schedule does not leave its old runs behind; runs created by hand are kept.
    /// </summary>
    public static Task<int> DeleteUpcomingAsync(OrchestratorDbContext db, Guid deploymentId, CancellationToken cancellationToken) =>
        db.FlowRuns.Where(r => r.DeploymentId == deploymentId && r.AutoScheduled && r.StateType == StateType.Scheduled)
            .ExecuteDeleteAsync(cancellationToken);

    /// <summary>
    /// The window's dates: at most MaxRuns, none after End, and once MinRuns are collected, stopping at
    /// the first date at or after Start + MinTime.
    /// </summary>
    public static List<DateTimeOffset> Dates(Schedule schedule, ScheduleWindow window)
    {
        var start = new DateTimeOffset(DateTime.SpecifyKind(window.Start, DateTimeKind.Utc));
        var end = new DateTimeOffset(DateTime.SpecifyKind(window.End, DateTimeKind.Utc));
        var dates = new List<DateTimeOffset>();
        foreach (var date in schedule.Dates(start, end, window.MaxRuns))
        {
            dates.Add(date);
            if (dates.Count >= window.MinRuns && date >= start + window.MinTime)
            {
                break;
            }
        }

        return dates;
    }

    /// <summary><c>scheduled &lt;deployment id&gt; &lt;date in the schedule's zone, ISO 8601&gt;</c>, as 2.7.0 writes it.</summary>
    public static string IdempotencyKey(Guid deploymentId, DateTimeOffset date)
    {
        string fraction = date.Ticks % TimeSpan.TicksPerSecond == 0 ? "" : ".ffffff";
        return $"scheduled {deploymentId} {date.ToString($"yyyy-MM-dd'T'HH:mm:ss{fraction}zzz", CultureInfo.InvariantCulture)}";
    }

    private static FlowRun NewRun(Deployment deployment, DateTimeOffset date, string key, DateTime now)
    {
        DateTime due = date.UtcDateTime;
        return new FlowRun
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = Slugs.Random(),
            FlowId = deployment.FlowId,
            DeploymentId = deployment.Id,
            WorkQueueName = deployment.WorkQueueName,
            Parameters = deployment.Parameters,
            InfrastructureDocumentId = deployment.InfrastructureDocumentId,
            Tags = [AutoScheduledTag, .. deployment.Tags],
            AutoScheduled = true,
            IdempotencyKey = key,
            StateType = StateType.Scheduled,
            StateName = StateType.Scheduled.DefaultName(),
            StateTimestamp = now,
            ExpectedStartTime = due,
            NextScheduledStartTime = due,
        };
    }

    private static long LockKey(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return BitConverter.ToInt64(bytes[..8]) ^ BitConverter.ToInt64(bytes[8..]);
    }
}
