using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using Orchestrator.Tests.Orchestration;

namespace Orchestrator.Tests.Client;

/// <summary>
/// Plays the recorded Prefect 2.7.0 client session against our server, request for request and at the
/// recorded moments (a manual clock follows the recording's timeline, so its waits cost nothing), with
/// the ids our server hands back in place of the recorded ones. Every answer must have the recorded
/// status, the recorded JSON shape and the recorded orchestration outcome; the run ends in the recorded
/// state histories.
/// </summary>
public abstract class RecordedSessionReplayTests(DatabaseKind database)
{
    // The recorded ids, replaced by ours as our server hands them out.
    private const string Flow = "c79d9539-c2d3-4c6c-8a78-eccbd65a10b1";
    private const string FlowRun = "eff5f5b4-f78c-49f1-a44c-a32cf1806114";
    private const string Flaky = "a8c748bc-bfd0-429f-b59f-02a88b63e02d";
    private const string Square1 = "9535a867-38cc-401f-98aa-844d9bbca376";
    private const string Square2 = "8c464ae1-174d-42e2-afbd-7c103058657d";
    private const string Limited1 = "f9dfa52f-4e3b-4827-8c9f-a9177204439f";
    private const string Limited2 = "63c46ed8-6981-4035-88bb-ddc1e97240ea";
    private const string BlockType = "145d23bc-c30e-4631-91d5-1ef35a3a664a";
    private const string BlockSchema = "1f1e9ef6-c016-4b1c-8be1-766d77157aa3";
    private const string BlockDocument = "cfe7a741-d1c7-4d4a-a796-557de99dac30";

    private const string CacheKey = "demo-square-4";

    private static readonly Recording Recorded = Recording.Instance;

    /// <summary>What the client sent at each line of the recording, and what it was told. Reads have no entry.</summary>
    private static readonly Dictionary<int, Step> Script = new()
    {
        [1] = new(_ => Recorded.ExampleRequest("POST /api/flows/ -> 201"), Maps: Flow),
        [2] = new(_ => Recorded.ExampleRequest("POST /api/flow_runs/ -> 201"), Maps: FlowRun),
        [3] = new(Maps: BlockType),
        [4] = new(_ => Recorded.ExampleRequest("PATCH /api/block_types/{id} -> 204")),
        [5] = new(Maps: BlockSchema),
        [6] = new(_ => Recorded.ExampleRequest("POST /api/block_documents/ -> 201"), Maps: BlockDocument),
        [7] = FlowProposal("ACCEPT RUNNING/Running", "RUNNING/Running"),
        [9] = CreateTask(Flaky, "flaky-726aa73d-0", "__main__.flaky", "0"),
        [11] = TaskProposal(Flaky, "ACCEPT RUNNING/Running", Running()),
        [13] = TaskProposal(Flaky, "REJECT SCHEDULED/AwaitingRetry", Failed()),
        [14] = TaskProposal(Flaky, "WAIT", Running()),
        [15] = TaskProposal(Flaky, "ACCEPT RUNNING/Retrying", Running()),
        [17] = TaskProposal(Flaky, "REJECT SCHEDULED/AwaitingRetry", Failed()),
        [18] = TaskProposal(Flaky, "WAIT", Running()),
        [19] = Logs(),
        [20] = TaskProposal(Flaky, "ACCEPT RUNNING/Retrying", Running()),
        [22] = TaskProposal(Flaky, "ACCEPT COMPLETED/Completed", Completed()),
        [23] = CreateTask(Square1, "square-2b9b4656-0", "__main__.square", "0", inputs: "x"),
        [25] = TaskProposal(Square1, "ACCEPT RUNNING/Running", Running(cached: true)),
        [27] = TaskProposal(Square1, "ACCEPT COMPLETED/Completed", Completed(cached: true, untrackable: true)),
        [28] = CreateTask(Square2, "square-2b9b4656-1", "__main__.square", "1", inputs: "x"),
        [30] = TaskProposal(Square2, "REJECT COMPLETED/Cached", Running(cached: true)),
        [31] = CreateTask(Limited1, "limited-6c4c1d8c-0", "__main__.limited", "0", inputs: "i", tag: "demo-limited"),
        [33] = CreateTask(Limited2, "limited-6c4c1d8c-1", "__main__.limited", "1", inputs: "i", tag: "demo-limited"),
        [35] = TaskProposal(Limited1, "ACCEPT RUNNING/Running", Running()),
        [36] = TaskProposal(Limited2, "WAIT", Running()) with
        {
            Details = """{"type": "wait_details", "delay_seconds": 30, "reason": "Concurrency limit for the demo-limited tag has been reached"}""",
        },
        [38] = TaskProposal(Limited1, "ACCEPT COMPLETED/Completed", Completed(untrackable: true)),
        [39] = Logs(),
        [40] = TaskProposal(Limited2, "ACCEPT RUNNING/Running", Running()),
        [42] = TaskProposal(Limited2, "ACCEPT COMPLETED/Completed", Completed(untrackable: true)),
        [43] = FlowProposal("REJECT SCHEDULED/AwaitingRetry", "FAILED/Failed"),
        [44] = FlowProposal("ACCEPT RUNNING/Running", "RUNNING/Running"),
        [46] = CreateTask(Flaky, "flaky-726aa73d-0", "__main__.flaky", "0"),
        [48] = TaskProposal(Flaky, "ABORT", Running()),
        [50] = CreateTask(Square1, "square-2b9b4656-0", "__main__.square", "0", inputs: "x"),
        [52] = TaskProposal(Square1, "REJECT COMPLETED/Cached", Running(cached: true)),
        [53] = CreateTask(Square2, "square-2b9b4656-1", "__main__.square", "1", inputs: "x"),
        [55] = TaskProposal(Square2, "REJECT COMPLETED/Cached", Running(cached: true)),
        [56] = CreateTask(Limited1, "limited-6c4c1d8c-0", "__main__.limited", "0", inputs: "i", tag: "demo-limited"),
        [58] = CreateTask(Limited2, "limited-6c4c1d8c-1", "__main__.limited", "1", inputs: "i", tag: "demo-limited"),
        [60] = TaskProposal(Limited1, "ABORT", Running()),
        [61] = TaskProposal(Limited2, "ABORT", Running()),
        [64] = FlowProposal("ACCEPT COMPLETED/Completed", "COMPLETED/Completed"),
        [65] = Logs(),
    };

    [Fact]
    public async Task RecordedPrefectClientSession_GetsTheRecordedAnswers_CallForCall()
    {
        var clock = new ManualClock(new DateTime(2026, 11, 22, 11, 24, 0, DateTimeKind.Utc));
        // The recording holds 2.7.0's fixed 30 s wait for a full limit.
        await using var app = await TestApp.StartAsync(database, clock, ConcurrencyLimitTests.FixedWaits);
        app.Client.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.8.3");
        var replay = new Replay(clock);
        DateTime start = clock.UtcNow;
        double t0 = Recorded.Requests[0].T;
        var seenKinds = new HashSet<string>();
        var problems = new List<string>();

        // Set up as the recording was: the tag's limit existed before the flow ran.
        (await app.PostAsync("/api/concurrency_limits/", new { tag = "demo-limited", concurrency_limit = 1 })).Status.Should().Be(200);
        await CheckReadAsync(app, "GET /api/concurrency_limits/tag/demo-limited -> 200", "/api/concurrency_limits/tag/demo-limited", problems);

        for (int line = 0; line < Recorded.Requests.Count; line++)
        {
            RecordedRequest recorded = Recorded.Requests[line];
            Step step = Script.GetValueOrDefault(line) ?? new Step();
            clock.MoveTo(start.AddSeconds(recorded.T - t0));
            string path = replay.Map(recorded.Path) + (recorded.Query.Length > 0 ? "?" + recorded.Query : "");
            string? body = step.Body is null ? null : replay.Map(step.Body(replay).ToJsonString());

            var (status, response) = await SendAsync(app, recorded.Method, path, body);

            string where = $"line {line}: {recorded.Method} {recorded.Template}";
            status.Should().Be(recorded.Status, $"{where} was answered {recorded.Status} in the recording; we said {response?.ToJsonString()}");
            string kind = KindOf(recorded, status, response);
            if (step.Outcome is { } outcome)
            {
                kind.Should().Be($"{recorded.Method} {recorded.Template} -> {recorded.Status} {outcome}", where);
            }

            Recorded.HasKind(kind).Should().BeTrue($"{where}: the recording never answered \"{kind}\"");
            bool firstOfKind = seenKinds.Add(kind);
            problems.AddRange(JsonShape.Differences(Recorded.ExampleResponse(kind), response, strict: firstOfKind).Select(p => $"{where}: {p}"));
            if (step.Outcome is not null)
            {
                CheckDetails(kind, step, response, firstOfKind, where, problems);
            }

            if (step.Maps is { } recordedId)
            {
                replay.Learn(recordedId, response!["id"]!.GetValue<string>());
            }
        }

        problems.Should().BeEmpty();
        await CheckFinalStateAsync(app, replay, problems);
        problems.Should().BeEmpty();
        string[] finalReads =
        [
            "GET /api/concurrency_limits/tag/demo-limited -> 200", "GET /api/flow_run_states/ -> 200",
            "POST /api/task_runs/filter -> 200", "GET /api/task_run_states/ -> 200",
        ];
        seenKinds.Concat(finalReads).Should().BeEquivalentTo(Recorded.Kinds, "every kind of answer in the recording was compared");
    }

    /// <summary>After the flow: the reads the recording made, their shapes, and the runs' final states and histories.</summary>
    private static async Task CheckFinalStateAsync(TestApp app, Replay replay, List<string> problems)
    {
        var flowStates = await CheckReadAsync(app, "GET /api/flow_run_states/ -> 200", $"/api/flow_run_states/?flow_run_id={replay.Map(FlowRun)}", problems);
        TypesAndNames(flowStates).Should().Equal(TypesAndNames(Recorded.ExampleResponse("GET /api/flow_run_states/ -> 200")));

        var flakyStates = await CheckReadAsync(app, "GET /api/task_run_states/ -> 200", $"/api/task_run_states/?task_run_id={replay.Map(Flaky)}", problems);
        TypesAndNames(flakyStates).Should().Equal(TypesAndNames(Recorded.ExampleResponse("GET /api/task_run_states/ -> 200")));

        string filterKind = "POST /api/task_runs/filter -> 200";
        var (status, taskRuns) = await app.PostAsync("/api/task_runs/filter", replay.Map(Recorded.ExampleRequest(filterKind).ToJsonString()));
        status.Should().Be(200);
        problems.AddRange(JsonShape.Differences(Recorded.ExampleResponse(filterKind), taskRuns, strict: true).Select(p => $"{filterKind}: {p}"));
        Summaries(taskRuns).Should().Equal(Summaries(Recorded.ExampleResponse(filterKind)), "each task run ends as in the recording");

        // State data is the client's: stored and handed back unchanged.
        var flaky = taskRuns!.AsArray().Single(t => t.Str("id") == replay.Map(Flaky));
        JsonNode.DeepEquals(flaky!["state"]!["data"], JsonNode.Parse(replay.Map(Completed()(replay)["data"]!.ToJsonString()))).Should().BeTrue();

        var (_, logs) = await app.PostAsync("/api/logs/filter", new { logs = new { flow_run_id = new { any_ = new[] { replay.Map(FlowRun) } } } });
        logs!.AsArray().Should().HaveCount(3 * Recorded.ExampleRequest("POST /api/logs/ -> 201").AsArray().Count);
        (await app.ActiveSlotsAsync("demo-limited")).Should().BeEmpty();
    }

    private static async Task<JsonNode?> CheckReadAsync(TestApp app, string kind, string path, List<string> problems)
    {
        var (status, body) = await app.GetAsync(path);
        status.Should().Be(200, kind);
        problems.AddRange(JsonShape.Differences(Recorded.ExampleResponse(kind), body, strict: true).Select(p => $"{kind}: {p}"));
        return body;
    }

    /// <summary>The orchestration details match the recording's for that outcome (or the step's own).</summary>
    private static void CheckDetails(string kind, Step step, JsonNode? response, bool firstOfKind, string where, List<string> problems)
    {
        JsonNode? expected = step.Details is { } details ? JsonNode.Parse(details) : Recorded.ExampleResponse(kind)!["details"];
        JsonNode? actual = response!["details"];
        bool same = firstOfKind || step.Details is not null
            ? JsonNode.DeepEquals(expected, actual)
            : expected.Str("type") == actual.Str("type") && expected.Str("reason") == actual.Str("reason");
        if (!same)
        {
            problems.Add($"{where}: details {actual?.ToJsonString()}, recorded {expected?.ToJsonString()}");
        }
    }

    private static string KindOf(RecordedRequest request, int status, JsonNode? response)
    {
        string kind = $"{request.Method} {request.Template} -> {status}";
        if (!request.Path.EndsWith("/set_state", StringComparison.Ordinal))
        {
            return kind;
        }

        string outcome = response.Str("status")!;
        return outcome is "ACCEPT" or "REJECT"
            ? $"{kind} {outcome} {response!["state"].Str("type")}/{response["state"].Str("name")}"
            : $"{kind} {outcome}";
    }

    private static async Task<(int Status, JsonNode? Body)> SendAsync(TestApp app, string method, string path, string? body) => method switch
    {
        "GET" => await app.GetAsync(path),
        "POST" => await app.PostAsync(path, body),
        "PATCH" => await app.PatchAsync(path, body!),
        _ => throw new NotSupportedException(method),
    };

    private static IEnumerable<string> TypesAndNames(JsonNode? states) =>
        states!.AsArray().Select(s => $"{s.Str("type")}/{s.Str("name")}");

    private static IEnumerable<string> Summaries(JsonNode? taskRuns) => taskRuns!.AsArray().Select(t =>
        string.Join(" ", t.Str("name"), t.Str("task_key"), t.Str("dynamic_key"), t!["tags"]!.ToJsonString(), t.Str("state_type"), t.Str("state_name"),
            t["run_count"], t["flow_run_run_count"], t["state"]!["state_details"].Str("cache_key"), t["state"]!["state_details"]!["untrackable_result"]));

    // The client's request bodies, built from the recording's examples.

    private static Step CreateTask(string recordedId, string name, string taskKey, string dynamicKey, string? inputs = null, string? tag = null) =>
        new(_ =>
        {
            var body = Recorded.ExampleRequest("POST /api/task_runs/ -> 201");
            body["name"] = name;
            body["task_key"] = taskKey;
            body["dynamic_key"] = dynamicKey;
            body["tags"] = tag is null ? new JsonArray() : new JsonArray(tag);
            body["task_inputs"] = inputs is null ? new JsonObject() : new JsonObject { [inputs] = new JsonArray() };
            if (taskKey != "__main__.flaky")
            {
                body["empirical_policy"]!["retries"] = 0;
                body["empirical_policy"]!["retry_delay"] = 0;
            }

            return body;
        }, Maps: recordedId);

    private static Step TaskProposal(string recordedId, string outcome, Func<Replay, JsonObject> state) =>
        new(replay =>
        {
            var proposed = state(replay).DeepClone().AsObject();
            proposed["state_details"]!["task_run_id"] = recordedId;
            return new JsonObject { ["state"] = proposed, ["force"] = false };
        }, Outcome: outcome);

    private static Step FlowProposal(string outcome, string proposal) =>
        new(_ => Recorded.ExampleRequest(proposal switch
        {
            "RUNNING/Running" => "POST /api/flow_runs/{id}/set_state -> 201 ACCEPT RUNNING/Running",
            "FAILED/Failed" => "POST /api/flow_runs/{id}/set_state -> 201 REJECT SCHEDULED/AwaitingRetry",
            _ => "POST /api/flow_runs/{id}/set_state -> 201 ACCEPT COMPLETED/Completed",
        }), Outcome: outcome);

    private static Step Logs() => new(_ => Recorded.ExampleRequest("POST /api/logs/ -> 201"));

    private static Func<Replay, JsonObject> Running(bool cached = false) => _ =>
    {
        var state = Recorded.ExampleRequest(cached
            ? "POST /api/task_runs/{id}/set_state -> 201 REJECT COMPLETED/Cached"
            : "POST /api/task_runs/{id}/set_state -> 201 ACCEPT RUNNING/Running")["state"]!.AsObject();
        return state;
    };

    private static Func<Replay, JsonObject> Failed() => _ =>
        Recorded.ExampleRequest("POST /api/task_runs/{id}/set_state -> 201 REJECT SCHEDULED/AwaitingRetry")["state"]!.AsObject();

    private static Func<Replay, JsonObject> Completed(bool cached = false, bool untrackable = false) => replay =>
    {
        var state = Recorded.ExampleRequest("POST /api/task_runs/{id}/set_state -> 201 ACCEPT COMPLETED/Completed")["state"]!.AsObject();
        var details = state["state_details"]!;
        details["untrackable_result"] = untrackable;
        if (cached)
        {
            details["cache_key"] = CacheKey;
            details["cache_expiration"] = (replay.Clock?.UtcNow ?? DateTime.UtcNow).AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
        }

        return state;
    };

    /// <param name="Body">The request body, with recorded ids (replaced by ours before sending).</param>
    /// <param name="Outcome">For set_state: the recorded outcome, e.g. <c>REJECT SCHEDULED/AwaitingRetry</c>.</param>
    /// <param name="Maps">The recorded id of the object this call creates or reads.</param>
    /// <param name="Details">Expected details when they differ from the recording's example of the outcome.</param>
    private sealed record Step(Func<Replay, JsonNode>? Body = null, string? Outcome = null, string? Maps = null, string? Details = null);

    /// <summary>The replay's memory: which of our ids stands for which recorded one.</summary>
    private sealed class Replay(ManualClock? clock)
    {
        private readonly Dictionary<string, string> _ours = [];

        public ManualClock? Clock => clock;

        public void Learn(string recordedId, string ourId)
        {
            if (_ours.TryGetValue(recordedId, out string? known))
            {
                ourId.Should().Be(known, $"{recordedId} was answered with the same object before");
                return;
            }

            _ours[recordedId] = ourId;
        }

        public string Map(string text) =>
            Recording.Ids.Replace(text, m => _ours.GetValueOrDefault(m.Value, m.Value));
    }
}

public sealed class RecordedSessionReplayTestsOnSqlite() : RecordedSessionReplayTests(DatabaseKind.Sqlite);

public sealed class RecordedSessionReplayTestsOnPostgres() : RecordedSessionReplayTests(DatabaseKind.Postgres);
