using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>The <c>{"exception_message": ...}</c> body of not-found errors raised below the handlers.</summary>
public sealed record NotFoundMessage([property: JsonPropertyName("exception_message")] string Message);

public static class Conflicts
{
    public static readonly Detail Integrity = new(
        "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.");
}

public static class OrchestrationResults
{
    /// <summary>201 when a state was written (ACCEPT, REJECT), 200 when not (WAIT, ABORT).</summary>
    public static IResult ToHttp(OrchestrationResult result) =>
        result.Status is SetStateStatus.Accept or SetStateStatus.Reject
            ? TypedResults.Json(result, Json.Options, statusCode: StatusCodes.Status201Created)
            : TypedResults.Json(result, Json.Options, statusCode: StatusCodes.Status200OK);
}

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

/// <summary>
/// The run-history endpoints feed Prefect's UI charts, which this server does not serve; only their
/// interval validation is kept, and a valid request answers an empty history.
/// </summary>
public static class RunHistory
{
    public static async Task<IResult> Refuse(HttpRequest request)
    {
        double? interval = await RequestBody.ReadAsync(request, r =>
        {
            r.Timestamp("history_start", required: true);
            r.Timestamp("history_end", required: true);
            return r.Number("history_interval_seconds", required: true);
        }, forbidExtra: false);
        return interval < 1
            ? Results.Json(new Detail("History interval must not be less than 1 second."), statusCode: 422)
            : Results.Json(Array.Empty<object>());
    }
}

/// <summary>Random two-word run names, as Prefect gives runs created without one.</summary>
public static class Slugs
{
    private static readonly string[] Adjectives =
    [
        "amber", "brave", "calm", "crimson", "daring", "eager", "fancy", "gentle", "happy", "icy", "jolly", "keen",
        "lively", "mellow", "nimble", "olive", "proud", "quick", "rustic", "silver", "tidy", "upbeat", "vivid", "witty",
    ];

    private static readonly string[] Animals =
    [
        "ant", "bear", "cat", "dingo", "eagle", "fox", "gecko", "heron", "ibis", "jaguar", "koala", "lemur",
        "moose", "newt", "otter", "panda", "quail", "raven", "seal", "tiger", "urchin", "viper", "walrus", "yak",
    ];

    public static string Random() =>
        $"{Adjectives[System.Random.Shared.Next(Adjectives.Length)]}-{Animals[System.Random.Shared.Next(Animals.Length)]}";
}
