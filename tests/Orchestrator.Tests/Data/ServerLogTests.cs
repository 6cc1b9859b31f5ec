using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// An error line in the server's log should mean something went wrong. Starting on an empty database, or
/// a client creating what already exists (a retried flow re-creating its task runs), is ordinary.
/// </summary>
public abstract class ServerLogTests(DatabaseKind database)
{
    [Fact]
    public async Task StartingOnAnEmptyDatabase_AndAgain_LogsNoError()
    {
        string connectionString = await EmptyDatabaseAsync();
        try
        {
            foreach (string start in new[] { "first", "second" })
            {
                await using var server = await ServerProcess.StartAsync(database, connectionString);
                (await ErrorLinesAsync(server)).Should().BeEmpty($"the {start} start on the database should log no errors");
            }
        }
        finally
        {
            await DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task CreatingWhatAlreadyExists_AnswersAsBefore_AndLogsNoError()
    {
        string connectionString = await EmptyDatabaseAsync();
        try
        {
            await using var server = await ServerProcess.StartAsync(database, connectionString);
            var flow = await PostAsync(server, "/api/flows/", new { name = "logged" }, 201);
            var flowRun = await PostAsync(server, "/api/flow_runs/", new { flow_id = flow["id"]!.ToString() }, 201);
            var taskRun = new { flow_run_id = flowRun["id"]!.ToString(), task_key = "k", dynamic_key = "0" };
            var first = await PostAsync(server, "/api/task_runs/", taskRun, 201);
            var again = await PostAsync(server, "/api/task_runs/", taskRun, 200);
            await PostAsync(server, "/api/block_types/", new { name = "Logged", slug = "logged" }, 201);
            await PostAsync(server, "/api/block_types/", new { name = "Logged", slug = "logged" }, 409);

            again["id"]!.ToString().Should().Be(first["id"]!.ToString());
            (await ErrorLinesAsync(server)).Should().BeEmpty("a task run found by its key and a taken block type name are answers, not failures");
        }
        finally
        {
            await DropAsync(connectionString);
        }
    }

    private Task<string> EmptyDatabaseAsync() => database == DatabaseKind.Postgres
        ? PostgresServer.CreateEmptyDatabaseAsync()
        : Task.FromResult($"Data Source={Path.Combine(Path.GetTempPath(), $"orchestrator-log-{Guid.NewGuid():N}.db")}");

    private async Task DropAsync(string connectionString)
    {
        if (database == DatabaseKind.Postgres)
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    private static async Task<JsonNode> PostAsync(ServerProcess server, string path, object body, int expectedStatus)
    {
        using var response = await server.Client.PostAsJsonAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().Be(expectedStatus, text);
        return JsonNode.Parse(text)!;
    }

    private static async Task<List<string>> ErrorLinesAsync(ServerProcess server)
    {
        await Task.Delay(500); // the log is written by a background thread
        return server.Output.Where(line => line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal)).ToList();
    }
}

public sealed class ServerLogTestsOnSqlite() : ServerLogTests(DatabaseKind.Sqlite);

public sealed class ServerLogTestsOnPostgres() : ServerLogTests(DatabaseKind.Postgres);
