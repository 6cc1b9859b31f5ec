using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>
/// Run history for charts (server-services.md §8): runs counted in buckets of their expected start time,
/// grouped by their current state, with their summed run time and lateness.
/// </summary>
public static class RunHistory
{
    private const int MaxBuckets = 500;

    public static RouteGroupBuilder MapUiApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/ui").WithTags("UI");
        group.MapPost("/flow_runs/history", FlowRunPoints).WithSummary("One point per flow run: when it started, how long it ran, how late it was.");
        return group;
    }

    public static async Task<Results<Ok<List<HistoryBucket>>, UnprocessableEntity<Detail>>> FlowRunHistory(
        HistoryRequest body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct) =>
        await HistoryAsync(body, body.Filters.ApplyTo(db.FlowRuns.AsNoTracking(), db), time.UtcNow(), ct);

    public static async Task<Results<Ok<List<HistoryBucket>>, UnprocessableEntity<Detail>>> TaskRunHistory(
        HistoryRequest body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct) =>
        await HistoryAsync(body, body.Filters.ApplyTo(db.TaskRuns.AsNoTracking(), db), time.UtcNow(), ct);

    public static async Task<Ok<List<HistoryPoint>>> FlowRunPoints(UiHistoryRequest body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        DateTime now = time.UtcNow();
        var runs = RunSorts.Apply(body.Filters.ApplyTo(db.FlowRuns.AsNoTracking(), db), body.Sort).Skip(body.Offset);
        var page = await (body.Limit >= 0 ? runs.Take(body.Limit) : runs).ToListAsync(ct);
        return TypedResults.Ok(page.Select(r => new HistoryPoint(
            r.Id,
            r.StateType,
            r.StartTime ?? r.ExpectedStartTime,
            ResponseMapping.EstimatedRunTime(r, now).TotalSeconds,
            ResponseMapping.EstimatedStartTimeDelta(r, now).TotalSeconds)).ToList());
    }

    private static async Task<Results<Ok<List<HistoryBucket>>, UnprocessableEntity<Detail>>> HistoryAsync<TRun>(
        HistoryRequest body, IQueryable<TRun> runs, DateTime now, CancellationToken ct) where TRun : Run
    {
        if (body.HistoryIntervalSeconds < 1)
        {
            return ErrorBodies.Unprocessable("History interval must not be less than 1 second.");
        }

        var interval = TimeSpan.FromSeconds(body.HistoryIntervalSeconds);
        int count = body.HistoryEnd <= body.HistoryStart
            ? 0
            : (int)Math.Min(MaxBuckets, Math.Ceiling((body.HistoryEnd - body.HistoryStart) / interval));
        DateTime start = body.HistoryStart;
        DateTime end = start + (count * interval);
        // Only what the counts read, not whole runs.
        var inWindow = await runs
            .Where(r => r.ExpectedStartTime >= start && r.ExpectedStartTime < end && r.StateType != null)
            .Select(r => new { Expected = r.ExpectedStartTime!.Value, State = r.StateType!.Value, r.StateName, r.StateTimestamp, r.TotalRunTime, r.StartTime })
            .ToListAsync(ct);
        var byBucket = inWindow.ToLookup(r => (int)((r.Expected - start) / interval));
        var buckets = Enumerable.Range(0, count).Select(i => new HistoryBucket(
            start + (i * interval),
            start + ((i + 1) * interval),
            byBucket[i]
                .GroupBy(r => (r.State, r.StateName))
                .Select(g => new HistoryState(
                    g.Key.State,
                    g.Key.StateName ?? "",
                    g.Count(),
                    g.Sum(r => Math.Max(0, ResponseMapping.EstimatedRunTime(r.State, r.StateTimestamp, r.TotalRunTime, now).TotalSeconds)),
                    g.Sum(r => Math.Max(0, ResponseMapping.EstimatedStartTimeDelta(r.State, r.StartTime, r.Expected, now).TotalSeconds))))
                .OrderBy(s => s.StateName, StringComparer.Ordinal)
                .ToList())).ToList();
        return TypedResults.Ok(buckets);
    }
}
