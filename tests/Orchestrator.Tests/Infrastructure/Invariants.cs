using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// What must hold in the database after any amount of concurrency, crashes included: each run points at
/// its newest state and copies its fields, every concurrency slot is held by a RUNNING task run, and no
/// state row outlives its run.
/// </summary>
public static class Invariants
{
    public static async Task<List<string>> ViolationsAsync(OrchestratorDbContext db)
    {
        var problems = new List<string>();

        var flowRuns = await db.FlowRuns.AsNoTracking().Select(r => new Current(r.Id, r.StateId, r.StateType, r.StateName, r.StateTimestamp)).ToListAsync();
        var flowStates = await db.FlowRunStates.AsNoTracking().Select(s => new Row(s.Id, s.FlowRunId, s.Type, s.Name, s.Timestamp)).ToListAsync();
        CheckCurrentStates("flow run", flowRuns, flowStates, problems);

        var taskRuns = await db.TaskRuns.AsNoTracking().Select(r => new Current(r.Id, r.StateId, r.StateType, r.StateName, r.StateTimestamp)).ToListAsync();
        var taskStates = await db.TaskRunStates.AsNoTracking().Select(s => new Row(s.Id, s.TaskRunId, s.Type, s.Name, s.Timestamp)).ToListAsync();
        CheckCurrentStates("task run", taskRuns, taskStates, problems);

        var running = taskRuns.Where(r => r.Type == StateType.Running).Select(r => r.Id).ToHashSet();
        foreach (var limit in await db.ConcurrencyLimits.AsNoTracking().ToListAsync())
        {
            problems.AddRange(limit.ActiveSlots.Where(slot => !running.Contains(slot))
                .Select(slot => $"limit {limit.Tag}: slot held by {slot}, which is not a RUNNING task run"));
            if (limit.ActiveSlots.Count != limit.ActiveSlots.Distinct().Count())
            {
                problems.Add($"limit {limit.Tag}: a task run holds two slots");
            }
        }

        return problems;
    }

    public static async Task<List<string>> ViolationsAsync(TestApp app) => await app.WithDbAsync(ViolationsAsync);

    private static void CheckCurrentStates(string kind, List<Current> runs, List<Row> states, List<string> problems)
    {
        var runIds = runs.Select(r => r.Id).ToHashSet();
        problems.AddRange(states.Where(s => !runIds.Contains(s.RunId)).Select(s => $"{kind} state {s.Id} has no run"));
        var newest = states.GroupBy(s => s.RunId).ToDictionary(g => g.Key, g => g.MaxBy(s => s.Timestamp)!);
        foreach (var run in runs)
        {
            if (!newest.TryGetValue(run.Id, out var state))
            {
                if (run.StateId is not null)
                {
                    problems.Add($"{kind} {run.Id} points at state {run.StateId} but has no state rows");
                }

                continue;
            }

            if (run.StateId != state.Id || run.Type != state.Type || run.Name != state.Name || run.Timestamp != state.Timestamp)
            {
                problems.Add($"{kind} {run.Id} is {run.Type}/{run.Name} ({run.StateId}), its newest state is {state.Type}/{state.Name} ({state.Id})");
            }
        }
    }

    private sealed record Current(Guid Id, Guid? StateId, StateType? Type, string? Name, DateTime? Timestamp);

    private sealed record Row(Guid Id, Guid RunId, StateType Type, string Name, DateTime Timestamp);
}
