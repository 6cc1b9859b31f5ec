using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Tests.Client;

/// <summary>One request of the recorded Prefect client session: when, what, and the status it got.</summary>
public sealed record RecordedRequest(double T, string Method, string Path, string Query, int Status)
{
    /// <summary>The path with every id replaced by <c>{id}</c>, as the recording's example kinds name it.</summary>
    public string Template => Recording.Ids.Replace(Path, "{id}");
}

/// <summary>
/// The recording of the real Prefect 2.7.0 client running a flow against the real Prefect server: the
/// request sequence and an example request/response body per kind of call. A copy of the project's
/// contract recording is kept with the tests (<c>Client/Recordings</c>), so the suite stands alone.
/// </summary>
public sealed class Recording
{
    public static readonly Regex Ids = new("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", RegexOptions.Compiled);

    private static readonly Lazy<Recording> Loaded = new(Load);

    private readonly JsonObject _examples;

    private Recording(IReadOnlyList<RecordedRequest> requests, JsonObject examples)
    {
        Requests = requests;
        _examples = examples;
    }

    public static Recording Instance => Loaded.Value;

    public IReadOnlyList<RecordedRequest> Requests { get; }

    public IEnumerable<string> Kinds => _examples.Select(e => e.Key);

    public bool HasKind(string kind) => _examples.ContainsKey(kind);

    public JsonNode ExampleRequest(string kind) => Example(kind)["request"]!.DeepClone();

    public JsonNode? ExampleResponse(string kind) => Example(kind)["response"]?.DeepClone();

    private JsonNode Example(string kind) =>
        _examples[kind] ?? throw new KeyNotFoundException($"The recording has no example for \"{kind}\".");

    private static Recording Load()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Client", "Recordings");
        string requests = Path.Combine(folder, "prefect-client-flow-run.requests.jsonl");
        string examples = Path.Combine(folder, "prefect-client-flow-run.examples.json");
        var sequence = File.ReadAllLines(requests)
            .Where(line => line.Trim().Length > 0)
            .Select(line =>
            {
                using var document = JsonDocument.Parse(line);
                var r = document.RootElement;
                return new RecordedRequest(
                    r.GetProperty("t").GetDouble(), r.GetProperty("method").GetString()!, r.GetProperty("path").GetString()!,
                    r.GetProperty("query").GetString() ?? "", r.GetProperty("status").GetInt32());
            })
            .ToList();
        return new Recording(sequence, JsonNode.Parse(File.ReadAllText(examples))!.AsObject());
    }
}
