using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using Npgsql;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// An error or warning line in the server's log should mean something went wrong. Starting on an empty
/// database, transitions, or a client creating what already exists (a retried flow re-creating its task
/// runs) are ordinary; a server that cannot start says why in one line.
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

            string task = first["id"]!.ToString();
            var running = await PostAsync(server, $"/api/task_runs/{task}/set_state", new { state = new { type = "RUNNING" } }, 201);
            await PostAsync(server, $"/api/task_runs/{task}/set_state", new { state = new { type = "COMPLETED" } }, 201);
            await PostAsync(server, $"/api/flow_runs/{flowRun["id"]}/set_state", new { state = new { type = "RUNNING" } }, 201);

            again["id"]!.ToString().Should().Be(task);
            running["status"]!.ToString().Should().Be("ACCEPT");
            (await ErrorLinesAsync(server)).Should().BeEmpty("a task run found by its key, a taken block type name and transitions are answers, not failures");
        }
        finally
        {
            await DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task StartedFromAnotherDirectory_ReadsItsSettingsFromBesideTheBinary()
    {
        string connectionString = await EmptyDatabaseAsync();
        string elsewhere = Directory.CreateTempSubdirectory("orchestrator-cwd-").FullName;
        try
        {
            await using var server = await ServerProcess.StartAsync(database, connectionString, new ServerStartOptions { WorkingDirectory = elsewhere, LogLevel = "Information" });
            await Task.Delay(500);

            // Without appsettings.json there would be no log sink at all, so no line.
            server.Output.Should().Contain(line => line.Contains(" INF] ", StringComparison.Ordinal) && line.Contains("Using the ", StringComparison.Ordinal));
            Directory.EnumerateFileSystemEntries(elsewhere).Should().BeEmpty("nothing is written to the directory it was started from");
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
            await DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task ARequestAndItsTransition_LogOneLineEach_WithTheSameTraceId_AndReadWell()
    {
        string connectionString = await EmptyDatabaseAsync();
        try
        {
            await using var server = await ServerProcess.StartAsync(database, connectionString, new ServerStartOptions { LogLevel = "Information" });
            var flow = await PostAsync(server, "/api/flows/", new { name = "traced" }, 201);
            var flowRun = await PostAsync(server, "/api/flow_runs/", new { flow_id = flow["id"]!.ToString() }, 201);
            string traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToString();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/flow_runs/{flowRun["id"]}/set_state?trace=1")
            {
                Content = JsonContent.Create(new { state = new { type = "RUNNING" } }),
            };
            request.Headers.Add("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom()}-01");
            (await server.Client.SendAsync(request)).EnsureSuccessStatusCode();

            var lines = await LinesAsync(server, l => l.Contains(traceId, StringComparison.Ordinal), count: 2);

            lines.Should().ContainSingle(l => l.Contains($"HTTP POST /api/flow_runs/{flowRun["id"]}/set_state?trace=1 responded 201 in ", StringComparison.Ordinal));
            var transition = lines.Should().ContainSingle(l => l.Contains("Transition of flow run", StringComparison.Ordinal)).Subject;
            transition.Should().Contain("ACCEPT, RUNNING (Running)").And.NotContain("null");
            lines[0].Should().MatchRegex(@"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{2}:\d{2} INF\] ", "lines carry the date, time and zone");
        }
        finally
        {
            await DropAsync(connectionString);
        }
    }

    [Fact]
    public async Task JsonLogs_AreOneCompactJsonObjectPerLine()
    {
        string connectionString = await EmptyDatabaseAsync();
        try
        {
            await using var server = await ServerProcess.StartAsync(database, connectionString, new ServerStartOptions
            {
                LogLevel = "Information",
                Environment = new Dictionary<string, string> { ["Logs__Format"] = "json" },
            });
            await PostAsync(server, "/api/flows/", new { name = "json-logged" }, 201);

            var request = (await LinesAsync(server, l => l.Contains("/api/flows/", StringComparison.Ordinal), count: 1))[0];
            var line = JsonNode.Parse(request)!;

            line["@t"].Should().NotBeNull();
            line["@mt"]!.ToString().Should().StartWith("HTTP {RequestMethod}");
            line["StatusCode"]!.GetValue<int>().Should().Be(201);
            line["@tr"].Should().NotBeNull("the trace id is carried");
        }
        finally
        {
            await DropAsync(connectionString);
        }
    }

    /// <summary>The server's log lines that match, waiting a little for the asynchronous sink to write them.</summary>
    private static async Task<List<string>> LinesAsync(ServerProcess server, Func<string, bool> match, int count)
    {
        for (int i = 0; i < 50; i++)
        {
            var found = server.Output.Where(match).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            await Task.Delay(100);
        }

        return server.Output.Where(match).ToList();
    }

    private Task<string> EmptyDatabaseAsync() => database == DatabaseKind.Postgres
        ? PostgresServer.CreateEmptyDatabaseAsync()
        : Task.FromResult($"Data Source={Path.Combine(Path.GetTempPath(), $"orchestrator-log-{Guid.NewGuid():N}.db")}");

    private async Task DropAsync(string connectionString)
    {
        if (database == DatabaseKind.Postgres)
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
            return;
        }

        string file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource;
        foreach (string path in new[] { file, $"{file}-wal", $"{file}-shm" })
        {
            File.Delete(path);
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
        return server.Output.Where(line => new[] { " WRN]", " ERR]", " FTL]" }.Any(level => line.Contains(level, StringComparison.Ordinal))).ToList();
    }
}

public sealed class ServerLogTestsOnSqlite() : ServerLogTests(DatabaseKind.Sqlite)
{
    [Fact]
    public async Task WithoutAConnectionString_TheDatabaseIsInTheUsersHome_WhereverTheServerStarts()
    {
        string home = Directory.CreateTempSubdirectory("orchestrator-home-").FullName;
        string elsewhere = Directory.CreateTempSubdirectory("orchestrator-cwd-").FullName;
        try
        {
            var options = new ServerStartOptions
            {
                WorkingDirectory = elsewhere,
                Environment = new Dictionary<string, string> { ["HOME"] = home, ["ConnectionStrings__Orchestrator"] = "" },
            };
            await using (var server = await ServerProcess.StartAsync(DatabaseKind.Sqlite, connectionString: null, options))
            {
                using var response = await server.Client.PostAsJsonAsync("/api/flows/", new { name = "at-home" });
                ((int)response.StatusCode).Should().Be(201);
            }

            File.Exists(Path.Combine(home, ".orchestrator", "orchestrator.db")).Should().BeTrue();
            Directory.EnumerateFileSystemEntries(elsewhere).Should().BeEmpty();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(home, recursive: true);
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}

public sealed class ServerLogTestsOnPostgres() : ServerLogTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task ADatabaseThatIsNotUpYet_IsWaitedFor_WithALineThatSaysSo_ThenServed()
    {
        string connectionString = await PostgresServer.CreateDatabaseAsync();
        try
        {
            var real = new NpgsqlConnectionStringBuilder(connectionString);
            await using var startingUp = new TcpForwarder(real.Host!, real.Port, refuseFirst: 1);
            // Without encryption to negotiate: Npgsql tries GSS encryption first and may open a second
            // connection without it when the first one fails, which would swallow the refusal.
            var throughForwarder = new NpgsqlConnectionStringBuilder(connectionString)
            {
                Host = "127.0.0.1",
                Port = startingUp.Port,
                SslMode = SslMode.Disable,
                GssEncryptionMode = GssEncryptionMode.Disable,
            };

            await using var server = await ServerProcess.StartAsync(DatabaseKind.Postgres, throughForwarder.ConnectionString);

            using var response = await server.Client.GetAsync("/health/ready");
            ((int)response.StatusCode).Should().Be(200);
            startingUp.Refused.Should().Be(1);
            static bool Waiting(string line) => line.Contains(" WRN] Orchestrator: Waiting for the PostgreSQL database", StringComparison.Ordinal);
            (await server.WaitForLineAsync(Waiting)).Should().Contain("trying again in 1 s");
            server.Output.Where(Waiting).Should().ContainSingle();
            server.Output.Should().NotContain(line => line.Contains(" FTL] ", StringComparison.Ordinal) || line.Contains(" ERR] ", StringComparison.Ordinal));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }

    [Fact]
    public async Task ADatabaseThatNeverAnswers_StopsTheServerWithOneClearLine_AfterTheConfiguredWait()
    {
        await using var nothing = new TcpForwarder("127.0.0.1", 1, refuseFirst: int.MaxValue);
        string connectionString = $"Host=127.0.0.1;Port={nothing.Port};Database=orchestrator;Username=orchestrator;Password=x";
        var options = new ServerStartOptions { Environment = new Dictionary<string, string> { ["Database__ConnectWaitSeconds"] = "2" } };

        var (exitCode, output) = await ServerProcess.RunToExitAsync(DatabaseKind.Postgres, connectionString, options);

        exitCode.Should().NotBe(0);
        output.Where(line => line.Contains(" WRN] Orchestrator: Waiting for the PostgreSQL database", StringComparison.Ordinal)).Should().HaveCount(1, "pauses of 1 s, then 2 s would pass the 2 s wait");
        output.Where(line => line.Contains(" FTL] ", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Should().Contain("Cannot prepare the PostgreSQL database orchestrator");
        output.Should().NotContain(line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal), "no stack trace");
    }

    [Fact]
    public async Task ARoleThatDoesNotOwnTheDatabase_StopsTheServerWithOneClearLine_AndANonZeroExit()
    {
        string connectionString = await PostgresServer.CreateDatabaseForRoleWithoutOwnershipAsync();
        try
        {
            var (exitCode, output) = await ServerProcess.RunToExitAsync(DatabaseKind.Postgres, connectionString);

            exitCode.Should().NotBe(0);
            output.Where(line => line.Contains(" FTL] ", StringComparison.Ordinal)).Should().ContainSingle()
                .Which.Should().Contain("must own the database");
            output.Should().NotContain(line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal), "no stack trace");
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(connectionString);
        }
    }
}
