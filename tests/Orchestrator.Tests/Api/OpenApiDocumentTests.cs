using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api;

/// <summary>
/// The OpenAPI document describes every operation: a summary, its request body where it reads one, and
/// each status it answers with a schema. The bodies come from the same readers that validate them.
/// </summary>
public sealed class OpenApiDocumentTests
{
    /// <summary>Answers that carry no body: 204s, the admin routes' bare 400 and the log batch's 201.</summary>
    private static readonly HashSet<string> BodilessAnswers =
    [
        "POST /api/admin/database/clear 400", "POST /api/admin/database/drop 400", "POST /api/admin/database/create 400",
        "POST /api/logs 201",
    ];

    /// <summary>POST and PATCH routes that read no body.</summary>
    private static readonly HashSet<string> WithoutBody =
    [
        "POST /api/deployments/{id}/set_schedule_active", "POST /api/deployments/{id}/set_schedule_inactive",
        "POST /api/block_types/install_system_block_types",
    ];

    private static async Task<JsonNode> DocumentAsync()
    {
        await using var app = await TestApp.StartAsync(DatabaseKind.Sqlite);
        var (status, document) = await app.GetAsync("/swagger/v1/swagger.json");
        status.Should().Be(200);
        return document!;
    }

    private static IEnumerable<(string Name, JsonObject Operation)> Operations(JsonNode document) =>
        from path in document["paths"]!.AsObject()
        from operation in path.Value!.AsObject()
        select ($"{operation.Key.ToUpperInvariant()} {path.Key}", operation.Value!.AsObject());

    [Fact]
    public async Task EveryOperation_HasAOneLineSummary()
    {
        var document = await DocumentAsync();

        var without = Operations(document)
            .Where(o => o.Operation["summary"]?.GetValue<string>() is not { Length: > 0 } summary || summary.Contains('\n'))
            .Select(o => o.Name);

        without.Should().BeEmpty();
        Operations(document).Should().HaveCountGreaterThan(60);
    }

    [Fact]
    public async Task EveryPostAndPatch_DescribesItsRequestBody()
    {
        var document = await DocumentAsync();

        var without = Operations(document)
            .Where(o => o.Name.StartsWith("POST ", StringComparison.Ordinal) || o.Name.StartsWith("PATCH ", StringComparison.Ordinal))
            .Where(o => !WithoutBody.Contains(o.Name))
            .Where(o => o.Operation["requestBody"]?["content"]?["application/json"]?["schema"] is not JsonObject schema
                || (schema["properties"] is null && schema["items"] is null && schema["$ref"] is null))
            .Select(o => o.Name);

        without.Should().BeEmpty();
    }

    [Fact]
    public async Task EveryAnswer_HasASchema_UnlessItCarriesNoBody()
    {
        var document = await DocumentAsync();

        var without =
            from o in Operations(document)
            from response in o.Operation["responses"]!.AsObject()
            where response.Key != "204" && !BodilessAnswers.Contains($"{o.Name} {response.Key}")
            where response.Value!["content"]?["application/json"]?["schema"] is null
            select $"{o.Name} {response.Key}";

        without.Should().BeEmpty();
    }

    [Fact]
    public async Task EveryOperationThatReadsARequest_Declares422()
    {
        var document = await DocumentAsync();

        var without = Operations(document)
            .Where(o => o.Operation["requestBody"] is not null || o.Operation["parameters"] is JsonArray { Count: > 0 })
            .Where(o => !o.Name.StartsWith("POST /api/admin/database/", StringComparison.Ordinal))
            .Where(o => o.Operation["responses"]!["422"]?["content"]?["application/json"]?["schema"] is not { } schema
                || !References(schema).Contains("#/components/schemas/ValidationErrorBody"))
            .Select(o => o.Name);

        without.Should().BeEmpty();
    }

    [Theory]
    [InlineData("/api/flow_runs/{id}/set_state")]
    [InlineData("/api/task_runs/{id}/set_state")]
    public async Task SetState_Declares201And200WithTheOrchestrationResult_AndAProposalWithoutIdOrTimestamp(string path)
    {
        var document = await DocumentAsync();
        var operation = document["paths"]![path]!["post"]!;

        foreach (string status in new[] { "201", "200" })
        {
            operation["responses"]![status]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>()
                .Should().Be("#/components/schemas/OrchestrationResult");
        }

        var state = operation["requestBody"]!["content"]!["application/json"]!["schema"]!["properties"]!["state"]!;
        Required(state).Should().Equal("type");
        state["properties"]!.AsObject().Select(p => p.Key).Should().Contain(["id", "timestamp", "name", "state_details"]);
    }

    [Theory]
    [InlineData("/api/flows/filter", "sort")]
    [InlineData("/api/flow_runs/filter", "sort")]
    [InlineData("/api/task_runs/filter", "sort")]
    [InlineData("/api/deployments/filter", "sort")]
    [InlineData("/api/flow_runs/count", "flow_runs")]
    [InlineData("/api/task_runs/count", "task_runs")]
    [InlineData("/api/flow_runs/history", "history_interval_seconds")]
    [InlineData("/api/logs/filter", "logs")]
    public async Task FilterCountAndHistoryBodies_AreDescribed(string path, string key)
    {
        var document = await DocumentAsync();

        var schema = document["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!;

        schema["properties"]![key].Should().NotBeNull();
    }

    [Theory]
    [InlineData("/api/flows/", "name")]
    [InlineData("/api/flow_runs/", "flow_id")]
    [InlineData("/api/task_runs/", "flow_run_id", "task_key", "dynamic_key")]
    [InlineData("/api/deployments/", "name", "flow_id")]
    [InlineData("/api/concurrency_limits/", "tag", "concurrency_limit")]
    [InlineData("/api/block_types/", "name", "slug")]
    public async Task CreateBodies_MarkWhatIsRequired(string path, params string[] required)
    {
        var document = await DocumentAsync();

        var body = document["paths"]![path.TrimEnd('/')]!["post"]!["requestBody"]!;

        body["required"]!.GetValue<bool>().Should().BeTrue();
        Required(body["content"]!["application/json"]!["schema"]!).Should().BeEquivalentTo(required);
    }

    [Fact]
    public async Task SortNames_AreListedAsTheEnumTheBodyAccepts()
    {
        var document = await DocumentAsync();

        var sort = document["paths"]!["/api/task_runs/filter"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["properties"]!["sort"]!;

        sort["enum"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Contain("EXPECTED_START_TIME_DESC").And.NotContain("START_TIME_ASC");
    }

    /// <summary>The schema's reference, or those of its <c>oneOf</c> alternatives.</summary>
    private static List<string> References(JsonNode schema) =>
        schema["oneOf"] is JsonArray alternatives
            ? alternatives.Select(a => a!["$ref"]?.GetValue<string>() ?? "").ToList()
            : [schema["$ref"]?.GetValue<string>() ?? ""];

    private static List<string> Required(JsonNode schema) =>
        schema["required"]?.AsArray().Select(r => r!.GetValue<string>()).ToList() ?? [];
}
