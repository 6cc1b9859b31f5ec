using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.LoadGenerator;

/// <summary>
/// N tasks through a concurrency limit of k, behaving as the Prefect 2.7 client does: propose RUNNING,
/// and while the answer is WAIT sleep its <c>delay_seconds</c> and propose again; once admitted, run for
/// the task's duration and propose COMPLETED. The limit can serve at best k tasks at a time, so the ideal
/// drain takes N × duration / k; efficiency is that over the measured time.
/// </summary>
public sealed class DrainRun(HttpClient http, string flowRunId, Options options)
{
    private long _waits;
    private long _errors;

    public async Task<DrainResult> ExecuteAsync()
    {
        string tag = $"drain-{Guid.NewGuid():N}";
        using (var limit = await http.PostAsync("concurrency_limits/", LoadRun.JsonBody(new { tag, concurrency_limit = options.Limit })))
        {
            limit.EnsureSuccessStatusCode();
        }

        var started = Stopwatch.StartNew();
        var lastDone = await Task.WhenAll(Enumerable.Range(0, options.DrainTasks).Select(i => Task.Run(() => OneTaskAsync(tag, i, started))));
        double measured = lastDone.Max();
        double ideal = options.DrainTasks * options.TaskDuration.TotalSeconds / options.Limit;
        return new DrainResult(options.Label, options.DrainTasks, options.TaskDuration.TotalSeconds, options.Limit, ideal, measured, ideal / measured, _waits, _errors);
    }

    /// <summary>One task's life; returns when it completed, in seconds from the start.</summary>
    private async Task<double> OneTaskAsync(string tag, int i, Stopwatch started)
    {
        var task = await PostAsync("task_runs/", new
        {
            flow_run_id = flowRunId,
            task_key = "drain.task",
            dynamic_key = $"{tag}-{i}",
            tags = new[] { tag },
            state = new { type = "PENDING" },
        });
        string id = task!["id"]!.GetValue<string>();
        while (true)
        {
            var answer = await PostAsync($"task_runs/{id}/set_state", new { state = new { type = "RUNNING" } });
            string? status = answer?["status"]?.GetValue<string>();
            if (status == "ACCEPT")
            {
                break;
            }

            if (status != "WAIT")
            {
                Interlocked.Increment(ref _errors);
                await Task.Delay(TimeSpan.FromSeconds(1));
                continue;
            }

            Interlocked.Increment(ref _waits);
            await Task.Delay(TimeSpan.FromSeconds(answer!["details"]!["delay_seconds"]!.GetValue<int>()));
        }

        await Task.Delay(options.TaskDuration);
        await PostAsync($"task_runs/{id}/set_state", new { state = new { type = "COMPLETED" } });
        return started.Elapsed.TotalSeconds;
    }

    private async Task<JsonNode?> PostAsync(string path, object body)
    {
        using var response = await http.PostAsync(path, LoadRun.JsonBody(body));
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Interlocked.Increment(ref _errors);
        }

        return text.Length > 0 ? JsonNode.Parse(text) : null;
    }
}

public sealed record DrainResult(
    string Label, int Tasks, double TaskSeconds, int Limit, double IdealSeconds, double MeasuredSeconds, double Efficiency, long Waits, long Errors)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Label}: {Tasks} tasks of {TaskSeconds:0.#} s through a limit of {Limit}: {MeasuredSeconds:0.0} s (ideal {IdealSeconds:0.0} s), efficiency {Efficiency:0.00}, {Waits} WAITs, {Errors} errors");
}
