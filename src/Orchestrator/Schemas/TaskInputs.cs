using System.Text.Json;
using Orchestrator.Infrastructure;

namespace Orchestrator.Schemas;

/// <summary>Reads a task run's <c>task_inputs</c>, which the client sends as opaque JSON.</summary>
public static class TaskInputs
{
    /// <summary>The distinct task runs a task run's inputs came from, for the flow-run graph.</summary>
    public static IReadOnlyList<TaskRunDependency> UpstreamTaskRuns(RawJson taskInputs)
    {
        var dependencies = new List<TaskRunDependency>();
        JsonElement inputs = taskInputs.Parse();
        if (inputs.ValueKind != JsonValueKind.Object)
        {
            return dependencies;
        }

        foreach (JsonProperty input in inputs.EnumerateObject())
        {
            if (input.Value.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (JsonElement item in input.Value.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("input_type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "task_run"
                    && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out Guid taskRunId)
                    && dependencies.All(d => d.Id != taskRunId))
                {
                    dependencies.Add(new TaskRunDependency("task_run", taskRunId));
                }
            }
        }

        return dependencies;
    }
}
