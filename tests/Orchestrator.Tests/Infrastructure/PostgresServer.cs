using Microsoft.EntityFrameworkCore;
using Npgsql;
using Orchestrator.Data;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the tests use, one per test run, in this order of preference: the one named by
/// <c>ORCHESTRATOR_TEST_POSTGRES</c> (a connection string with rights to create databases); a container
/// started through Testcontainers when a Docker engine answers; a throwaway cluster from the installed
/// server binaries. <c>ORCHESTRATOR_TEST_POSTGRES_VIA=testcontainers</c> (or <c>cluster</c>) insists on
/// one, so a CI run that has Docker fails rather than quietly falling back. The choice, and why a
/// preferred one was passed over, is one line of the test output. Every test gets a fresh database
/// cloned from a migrated template.
/// </summary>
public static class PostgresServer
{
    public const string EnvironmentVariable = "ORCHESTRATOR_TEST_POSTGRES";
    public const string ViaVariable = "ORCHESTRATOR_TEST_POSTGRES_VIA";
    private const string TemplateDatabase = "orchestrator_template";

    private static readonly SemaphoreSlim CreateLock = new(1, 1);
    private static readonly Lazy<Task<string>> Server = new(StartAsync);
    private static bool _templateReady;

    /// <summary>Creates an empty, migrated database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        string admin = await Server.Value;
        string name = $"test_{Guid.NewGuid():N}";
        await CreateLock.WaitAsync();
        try
        {
            if (!_templateReady)
            {
                await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {TemplateDatabase} WITH (FORCE)");
                await ExecuteAsync(admin, $"CREATE DATABASE {TemplateDatabase}");
                string template = WithDatabase(admin, TemplateDatabase);
                await using (var db = new OrchestratorDbContext(new DbContextOptionsBuilder<OrchestratorDbContext>()
                    .UseNpgsql(template)
                    .UseSnakeCaseNamingConvention()
                    .ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning))
                    .Options))
                {
                    await db.Database.MigrateAsync();
                }

                NpgsqlConnection.ClearAllPools();
                _templateReady = true;
            }

            await ExecuteAsync(admin, $"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}");
        }
        finally
        {
            CreateLock.Release();
        }

        return WithDatabase(admin, name);
    }

    /// <summary>Creates a database with no tables at all, as a new deployment's is.</summary>
    public static async Task<string> CreateEmptyDatabaseAsync()
    {
        string admin = await Server.Value;
        string name = $"test_{Guid.NewGuid():N}";
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        return WithDatabase(admin, name);
    }

    /// <summary>
    /// A database owned by the admin role, reached as a role with <c>GRANT ALL ON DATABASE</c> only: it
    /// may connect but not create tables in the <c>public</c> schema (PostgreSQL 15 and later).
    /// </summary>
    public static async Task<string> CreateDatabaseForRoleWithoutOwnershipAsync()
    {
        string admin = await Server.Value;
        string name = $"test_{Guid.NewGuid():N}";
        string role = $"role_{Guid.NewGuid():N}";
        await ExecuteAsync(admin, $"CREATE ROLE {role} LOGIN PASSWORD '{role}'");
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        await ExecuteAsync(admin, $"GRANT ALL ON DATABASE {name} TO {role}");
        return new NpgsqlConnectionStringBuilder(WithDatabase(admin, name)) { Username = role, Password = role }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string connectionString)
    {
        string admin = await Server.Value;
        string name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private static string WithDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> StartAsync()
    {
        string? given = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(given))
        {
            var builder = new NpgsqlConnectionStringBuilder(given) { Pooling = true, MaxPoolSize = 50 };
            TestRunOutput.Say($"PostgreSQL for the tests: the server in {EnvironmentVariable} ({builder.Host}:{builder.Port}).");
            return builder.ConnectionString;
        }

        string via = (Environment.GetEnvironmentVariable(ViaVariable) ?? "auto").Trim().ToLowerInvariant();
        if (via is not ("auto" or "testcontainers" or "cluster"))
        {
            throw new InvalidOperationException($"{ViaVariable} is '{via}'; it takes auto, testcontainers or cluster.");
        }

        string? passedOver = null;
        if (via != "cluster")
        {
            try
            {
                var (connectionString, description) = await PostgresContainer.StartAsync();
                TestRunOutput.Say($"PostgreSQL for the tests: {description}.");
                return connectionString;
            }
            catch (Exception e) when (via == "auto")
            {
                passedOver = $" (not Testcontainers: {WhyNot(e)})";
            }
        }

        var (clusterConnectionString, clusterDescription) = await PostgresCluster.StartAsync();
        TestRunOutput.Say($"PostgreSQL for the tests: {clusterDescription}{passedOver}.");
        return clusterConnectionString;
    }

    /// <summary>Why Testcontainers could not be used, in a line: the failure and, if it differs, its cause.</summary>
    private static string WhyNot(Exception e)
    {
        static string Line(string message)
        {
            int end = message.IndexOfAny(['\r', '\n']);
            return (end < 0 ? message : message[..end]).TrimEnd('.');
        }

        string outer = Line(e.Message);
        string inner = Line(e.GetBaseException().Message);
        return inner == outer ? outer : $"{outer}: {inner}";
    }
}
