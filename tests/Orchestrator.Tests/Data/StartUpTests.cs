using FluentAssertions;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// The first thing a new user reads is the server's log on an empty database: migrating it, and starting
/// again on the migrated database, must not log errors.
/// </summary>
public abstract class StartUpTests(DatabaseKind database)
{
    [Fact]
    public async Task StartingOnAnEmptyDatabase_AndAgain_LogsNoError()
    {
        string connectionString = database == DatabaseKind.Postgres
            ? await PostgresServer.CreateEmptyDatabaseAsync()
            : $"Data Source={Path.Combine(Path.GetTempPath(), $"orchestrator-start-{Guid.NewGuid():N}.db")}";
        try
        {
            foreach (string start in new[] { "first", "second" })
            {
                await using var server = await ServerProcess.StartAsync(database, connectionString);
                await Task.Delay(500); // the log is written by a background thread
                server.Output.Where(line => line.Contains(" ERR]", StringComparison.Ordinal) || line.Contains(" FTL]", StringComparison.Ordinal))
                    .Should().BeEmpty($"the {start} start on the database should log no errors");
            }
        }
        finally
        {
            if (database == DatabaseKind.Postgres)
            {
                await PostgresServer.DropDatabaseAsync(connectionString);
            }
        }
    }
}

public sealed class StartUpTestsOnSqlite() : StartUpTests(DatabaseKind.Sqlite);

public sealed class StartUpTestsOnPostgres() : StartUpTests(DatabaseKind.Postgres);
