using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Orchestration.Services;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Client;

/// <summary>
/// Plays the recording of the real Prefect 2.7.0 CLI, agent and engines running a scheduled deployment
/// (contract README, "prefect-agent-deployment") against our server: every request with its recorded
/// body, in order, at its recorded moment (a manual clock follows the recording's timeline), with the ids
/// our answers hand out in place of the recorded ones. The services run their cycles between calls, as
/// the real server's do. Every answer must have the recorded status, the recorded JSON shape, and for
/// set_state the recorded outcome; the agent never has more than the queue's limit of runs in flight.
/// </summary>
public abstract class AgentSessionReplayTests(DatabaseKind database)
{
    private static readonly Regex Uuids = new("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", RegexOptions.Compiled);

    private static readonly Lazy<(List<JsonObject> Rows, JsonObject Examples)> Recording = new(() =>
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Client", "Recordings");
        var rows = File.ReadAllLines(Path.Combine(folder, "prefect-agent-deployment.requests.jsonl"))
            .Where(l => l.Trim().Length > 0)
            .Select(l => JsonNode.Parse(l)!.AsObject())
            .ToList();
        var examples = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "prefect-agent-deployment.examples.json")))!.AsObject();
        return (rows, examples);
    });

    [Fact]
    public async Task RecordedAgentSession_GetsTheRecordedAnswers_CallForCall()
    {
        var (rows, examples) = Recording.Value;
        DateTime start = DateTime.Parse(rows[0]["response_body"]!["created"]!.GetValue<string>(), CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var clock = new ManualClock(start);
        await using var app = await TestApp.StartAsync(database, clock);
        app.Client.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.8.3");
        var ids = new Dictionary<string, string>();
        var problems = new List<string>();
        var shapesSeen = new HashSet<string>();
        int maxInFlight = 0;

        foreach (var row in rows)
        {
            clock.MoveTo(start.AddSeconds(row["t"]!.GetValue<double>()));
            await app.Service<RecentDeploymentsScheduler>().RunCycleAsync(CancellationToken.None);
            await app.Service<LateRuns>().RunCycleAsync(CancellationToken.None);

            string method = row["method"]!.GetValue<string>();
            string query = row["query"]?.GetValue<string>() ?? "";
            string path = Map(row["path_raw"]!.GetValue<string>(), ids) + (query.Length > 0 ? "?" + query : "");
            string? body = row["request_body"] is { } sent ? Map(sent.ToJsonString(), ids) : null;
            int recordedStatus = row["status"]!.GetValue<int>();
            string where = $"seq {row["seq"]} ({row["process"]}): {method} {row["path"]}";

            var (status, response) = await SendAsync(app, method, path, body);

            status.Should().Be(recordedStatus, $"{where} was answered {recordedStatus} in the recording; we said {response?.ToJsonString()}");
            LearnIds(row["response_body"], response, ids);
            if (path.EndsWith("/set_state", StringComparison.Ordinal))
            {
                Outcome(response).Should().Be(Outcome(row["response_body"]), where);
            }

            string kind = $"{method} {row["path"]} -> {recordedStatus}";
            if (examples[kind]?["response"] is { } example && shapesSeen.Add(kind))
            {
                problems.AddRange(JsonShape.Differences(example, response, strict: false).Select(p => $"{where}: {p}"));
            }

            maxInFlight = Math.Max(maxInFlight, await InFlightAsync(app));
        }

        problems.Should().BeEmpty();
        maxInFlight.Should().BeInRange(1, 2, "the queue's concurrency limit is 2");
        var (_, runs) = await app.PostAsync("/api/flow_runs/filter", new { flow_runs = new { state = new { type = new { any_ = new[] { "COMPLETED" } } } } });
        runs!.AsArray().Should().HaveCount(5, "the agent ran three manual and two scheduled runs to completion");
    }

    /// <summary>The set_state outcome as the recording names it: status, and the state's type/name when there is one.</summary>
    private static string Outcome(JsonNode? result) =>
        result?["state"] is JsonObject state
            ? $"{result["status"]} {state["type"]}/{state["name"]}"
            : $"{result?["status"]}";

    private static async Task<int> InFlightAsync(TestApp app)
    {
        var (_, runs) = await app.PostAsync("/api/flow_runs/filter", new
        {
            flow_runs = new { state = new { type = new { any_ = new[] { "PENDING", "RUNNING" } } } },
        });
        return runs!.AsArray().Count;
    }

    private static string Map(string text, Dictionary<string, string> ids) =>
        Uuids.Replace(text, m => ids.GetValueOrDefault(m.Value, m.Value));

    /// <summary>
    /// Walks the recorded and our answer side by side and learns, for each recorded id, the id our
    /// server put in the same place. The first pairing of an id wins.
    /// </summary>
    private static void LearnIds(JsonNode? recorded, JsonNode? ours, Dictionary<string, string> ids)
    {
        switch (recorded, ours)
        {
            case (JsonObject r, JsonObject o):
                foreach (var (key, value) in r)
                {
                    if (o.TryGetPropertyValue(key, out JsonNode? mine))
                    {
                        LearnIds(value, mine, ids);
                    }
                }

                break;
            case (JsonArray r, JsonArray o):
                for (int i = 0; i < Math.Min(r.Count, o.Count); i++)
                {
                    LearnIds(r[i], o[i], ids);
                }

                break;
            case (JsonValue r, JsonValue o) when r.GetValueKind() == JsonValueKind.String && o.GetValueKind() == JsonValueKind.String:
                string recordedText = r.GetValue<string>();
                string ourText = o.GetValue<string>();
                if (Uuids.IsMatch(recordedText) && Uuids.IsMatch(ourText) && recordedText.Length == 36)
                {
                    ids.TryAdd(recordedText, ourText);
                }

                break;
        }
    }

    private static async Task<(int Status, JsonNode? Body)> SendAsync(TestApp app, string method, string path, string? body) => method switch
    {
        "GET" => await app.GetAsync(path),
        "POST" => await app.PostAsync(path, body),
        "PATCH" => await app.PatchAsync(path, body!),
        "DELETE" => await app.DeleteAsync(path),
        _ => throw new NotSupportedException(method),
    };
}

public sealed class AgentSessionReplayTestsOnSqlite() : AgentSessionReplayTests(DatabaseKind.Sqlite);

public sealed class AgentSessionReplayTestsOnPostgres() : AgentSessionReplayTests(DatabaseKind.Postgres);
