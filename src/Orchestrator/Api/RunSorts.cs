using Orchestrator.Data;

namespace Orchestrator.Api;

/// <summary>
/// The sort orders of <c>/flow_runs/filter</c> and <c>/task_runs/filter</c>, over the fields both kinds of
/// run share; each body accepts only its own resource's names (<c>Sorts</c>). Ties are broken by id, so
/// pages do not overlap.
/// </summary>
public static class RunSorts
{
    public static IQueryable<TRun> Apply<TRun>(IQueryable<TRun> runs, string? sort) where TRun : Run => sort switch
    {
        "START_TIME_ASC" => runs.OrderBy(r => (r.StartTime ?? r.ExpectedStartTime) == null).ThenBy(r => r.StartTime ?? r.ExpectedStartTime).ThenBy(r => r.Id),
        "START_TIME_DESC" => runs.OrderByDescending(r => (r.StartTime ?? r.ExpectedStartTime) == null).ThenByDescending(r => r.StartTime ?? r.ExpectedStartTime).ThenBy(r => r.Id),
        "EXPECTED_START_TIME_ASC" => runs.OrderBy(r => r.ExpectedStartTime == null).ThenBy(r => r.ExpectedStartTime).ThenBy(r => r.Id),
        "EXPECTED_START_TIME_DESC" => runs.OrderByDescending(r => r.ExpectedStartTime == null).ThenByDescending(r => r.ExpectedStartTime).ThenBy(r => r.Id),
        "NAME_ASC" => runs.OrderBy(r => r.Name).ThenBy(r => r.Id),
        "NAME_DESC" => runs.OrderByDescending(r => r.Name).ThenBy(r => r.Id),
        "NEXT_SCHEDULED_START_TIME_ASC" => runs.OrderBy(r => r.NextScheduledStartTime == null).ThenBy(r => r.NextScheduledStartTime).ThenBy(r => r.Id),
        "END_TIME_DESC" => runs.OrderByDescending(r => r.EndTime == null).ThenByDescending(r => r.EndTime).ThenBy(r => r.Id),
        _ => runs.OrderByDescending(r => r.Id),
    };
}
