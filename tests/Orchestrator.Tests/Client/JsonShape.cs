using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.Client;

/// <summary>
/// Compares a response with the recorded one by shape: the same field names at every level, and values of
/// the same JSON type (ids still look like UUIDs, timestamps like ISO-8601 with an offset). Strict mode,
/// for the very call the example was recorded from, also requires nulls where the recording has them.
/// </summary>
public static class JsonShape
{
    /// <summary>Objects whose keys are the user's data, not the API's schema.</summary>
    private static readonly HashSet<string> FreeForm = ["parameters", "context", "task_inputs", "data", "fields", "infra_overrides"];

    private static readonly Regex Uuid = new("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    private static readonly Regex Timestamp = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$");

    public static List<string> Differences(JsonNode? expected, JsonNode? actual, bool strict)
    {
        var problems = new List<string>();
        Compare(expected, actual, "$", strict, problems);
        return problems;
    }

    private static void Compare(JsonNode? expected, JsonNode? actual, string path, bool strict, List<string> problems)
    {
        if (expected is null || actual is null)
        {
            if (strict && (expected is null) != (actual is null))
            {
                problems.Add($"{path}: recorded {Describe(expected)}, got {Describe(actual)}");
            }

            return;
        }

        switch (expected)
        {
            case JsonObject recorded when actual is JsonObject ours:
                bool schemaKeys = strict || !FreeForm.Contains(path[(path.LastIndexOf('.') + 1)..]);
                foreach (var (key, value) in recorded)
                {
                    if (ours.ContainsKey(key))
                    {
                        Compare(value, ours[key], $"{path}.{key}", strict, problems);
                    }
                    else if (schemaKeys)
                    {
                        problems.Add($"{path}.{key}: missing");
                    }
                }

                problems.AddRange(ours.Where(p => schemaKeys && !recorded.ContainsKey(p.Key)).Select(p => $"{path}.{p.Key}: not in the recording"));
                break;
            case JsonArray recorded when actual is JsonArray ours:
                if (strict && recorded.Count != ours.Count)
                {
                    problems.Add($"{path}: recorded {recorded.Count} items, got {ours.Count}");
                }

                for (int i = 0; i < ours.Count && recorded.Count > 0; i++)
                {
                    Compare(recorded[Math.Min(i, recorded.Count - 1)], ours[i], $"{path}[{i}]", strict, problems);
                }

                break;
            case JsonValue recorded when actual is JsonValue ours:
                CompareValues(recorded, ours, path, problems);
                break;
            default:
                problems.Add($"{path}: recorded {Describe(expected)}, got {Describe(actual)}");
                break;
        }
    }

    private static void CompareValues(JsonValue recorded, JsonValue ours, string path, List<string> problems)
    {
        JsonValueKind expectedKind = Normalize(recorded.GetValueKind());
        JsonValueKind actualKind = Normalize(ours.GetValueKind());
        if (expectedKind != actualKind)
        {
            problems.Add($"{path}: recorded {Describe(recorded)}, got {Describe(ours)}");
            return;
        }

        if (expectedKind == JsonValueKind.String)
        {
            string e = recorded.GetValue<string>();
            string a = ours.GetValue<string>();
            if (Uuid.IsMatch(e) && !Uuid.IsMatch(a))
            {
                problems.Add($"{path}: recorded a UUID, got \"{a}\"");
            }
            else if (Timestamp.IsMatch(e) && !Timestamp.IsMatch(a))
            {
                problems.Add($"{path}: recorded a timestamp like \"{e}\", got \"{a}\"");
            }
        }
    }

    private static JsonValueKind Normalize(JsonValueKind kind) => kind == JsonValueKind.False ? JsonValueKind.True : kind;

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v => $"{Normalize(v.GetValueKind()).ToString().ToLowerInvariant().Replace("true", "boolean")} {v.ToJsonString()}",
        _ => node.ToJsonString(),
    };
}
