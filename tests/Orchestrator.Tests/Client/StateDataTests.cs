using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Client;

/// <summary>State <c>data</c> belongs to the client (a result reference, a pickled literal): kept as sent.</summary>
public abstract class StateDataTests(DatabaseKind database)
{
    private const string Data =
        """{"type": "reference", "storage_key": "a7573aba", "nested": {"list": [1, 1.0, 1.50, 12345678901234567890, -0.0, 1e400], "text": "caf\u00e9 \ud83d\ude00 \"quoted\""}, "empty": {}, "none": null}""";

    [Fact]
    public async Task StateData_IsReturnedExactlyAsSent_FromSetStateReadsAndHistory()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" });
        await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        var (_, result) = await app.PostRawAsync($"/api/task_runs/{task}/set_state", "{\"state\": {\"type\": \"COMPLETED\", \"data\": " + Data + "}}");
        string answered = await RawAsync(app, $"/api/task_runs/{task}");
        string history = await RawAsync(app, $"/api/task_run_states/?task_run_id={task}");

        result.Str("status").Should().Be("ACCEPT");
        answered.Should().Contain($"\"data\":{Data}");
        history.Should().Contain($"\"data\":{Data}");
    }

    private static async Task<string> RawAsync(TestApp app, string path)
    {
        using var response = await app.Client.GetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }
}

public sealed class StateDataTestsOnSqlite() : StateDataTests(DatabaseKind.Sqlite);

public sealed class StateDataTestsOnPostgres() : StateDataTests(DatabaseKind.Postgres);
