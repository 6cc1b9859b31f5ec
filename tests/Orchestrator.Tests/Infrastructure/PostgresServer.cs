using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Orchestrator.Data;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL server the tests use: the one named by <c>ORCHESTRATOR_TEST_POSTGRES</c> (a connection
/// string with rights to create databases), or else a throwaway cluster started from the installed
/// binaries in a temporary folder, on a free loopback port, and removed when the test run ends. Every
/// test gets a fresh database cloned from a migrated template.
/// </summary>
public static class PostgresServer
{
    public const string EnvironmentVariable = "ORCHESTRATOR_TEST_POSTGRES";
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
        await ExecuteAsync(admin, $"CREATE ROLE {role} LOGIN");
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        await ExecuteAsync(admin, $"GRANT ALL ON DATABASE {name} TO {role}");
        return new NpgsqlConnectionStringBuilder(WithDatabase(admin, name)) { Username = role }.ConnectionString;
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
            return new NpgsqlConnectionStringBuilder(given) { Pooling = true, MaxPoolSize = 50 }.ConnectionString;
        }

        string bin = FindBinaries();
        string root = Path.Combine(Path.GetTempPath(), $"orchestrator-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        string data = Path.Combine(root, "data");
        bool asPostgresUser = Environment.UserName == "root";
        if (asPostgresUser)
        {
            // PostgreSQL refuses to run as root; the cluster belongs to the postgres user.
            Run("chown", ["-R", "postgres", root]);
        }

        int port = FreePort();
        RunAs(asPostgresUser, Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        RunAs(asPostgresUser, Path.Combine(bin, "pg_ctl"),
        [
            "-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start", "-o",
            $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        ]);
        StopWhenThisProcessEnds(asPostgresUser, bin, data, root);

        string connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            MaxPoolSize = 50,
        }.ConnectionString;
        await ExecuteAsync(connectionString, "SELECT 1");
        return connectionString;
    }

    /// <summary>
    /// The test host is often ended without running its exit handlers, so the cluster is stopped and its
    /// folder removed by a watchdog of its own: a shell, detached from this process tree (setsid -f), that
    /// waits for this process to end however it ends, then stops the server and deletes the folder.
    /// </summary>
    private static void StopWhenThisProcessEnds(bool asPostgresUser, string bin, string data, string root)
    {
        string stop = asPostgresUser
            ? $"runuser -u postgres -- '{bin}/pg_ctl' -D '{data}' -m immediate stop"
            : $"'{bin}/pg_ctl' -D '{data}' -m immediate stop";
        string script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{root}'";
        var start = new ProcessStartInfo("setsid", ["-f", "sh", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var watchdog = Process.Start(start) ?? throw new InvalidOperationException("Could not start the cluster's watchdog.");
        watchdog.WaitForExit();
    }

    private static string FindBinaries()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d).Select(d => Path.Combine(d, "bin"))
            : [];
        foreach (string dir in candidates.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException(
            $"PostgreSQL tests need a server: set {EnvironmentVariable} to a connection string, or install the PostgreSQL " +
            "server binaries (initdb, pg_ctl; Debian package 'postgresql') so a throwaway cluster can be started.");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void RunAs(bool asPostgresUser, string file, IReadOnlyList<string> args)
    {
        if (asPostgresUser)
        {
            Run("runuser", ["-u", "postgres", "--", file, .. args]);
        }
        else
        {
            Run(file, args);
        }
    }

    private static void Run(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {output}");
        }
    }
}
