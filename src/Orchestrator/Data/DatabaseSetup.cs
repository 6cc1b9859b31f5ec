using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Orchestrator.Data;

/// <summary>Settings of the <c>Database</c> configuration section.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary><c>Sqlite</c> (embedded, the default) or <c>Postgres</c>.</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>
    /// Where the default SQLite file (<c>orchestrator.db</c>) lives; created on first start. Empty means
    /// <c>~/.orchestrator</c>, whatever directory the server is started from.
    /// </summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>The folder the default SQLite file is in: the setting, else <c>.orchestrator</c> in the user's home.</summary>
    public string ResolvedDataDirectory()
    {
        if (!string.IsNullOrWhiteSpace(DataDirectory))
        {
            return Path.GetFullPath(DataDirectory);
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(home) ? AppContext.BaseDirectory : home, ".orchestrator");
    }

    /// <summary>
    /// How long a start-up waits for a PostgreSQL server that is not reachable yet (still starting, its
    /// host name not yet known, too many connections), trying again with growing pauses of up to 5 s.
    /// 0 gives up at the first failure. Errors that waiting cannot cure (a wrong password, a missing
    /// database or rights) stop the start-up at once.
    /// </summary>
    public int ConnectWaitSeconds { get; set; } = 60;

    public bool IsPostgres => string.Equals(Provider, "Postgres", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Provider, "PostgreSQL", StringComparison.OrdinalIgnoreCase);
}

public static class DatabaseSetup
{
    public const string ConnectionStringName = "Orchestrator";

    public static IServiceCollection AddOrchestratorDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        services.AddSingleton(options);
        string? connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (options.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException("Database:Provider is Postgres but ConnectionStrings:Orchestrator is not set.");
            }

            services.AddDbContextPool<OrchestratorDbContext>(db => db
                .UseNpgsql(PostgresConnectionString(connectionString), npgsql => npgsql.MaxBatchSize(1000))
                .UseSnakeCaseNamingConvention()
                .AddInterceptors(CommitWithLastSaveInterceptor.Instance, RowLockInterceptor.Instance)
                .ConfigureWarnings(ConfigureEvents));
        }
        else
        {
            string sqlite = SqliteConnectionString(connectionString, options.ResolvedDataDirectory());
            var setup = new SqliteConnectionSetup(new SqliteConnectionStringBuilder(sqlite).DefaultTimeout * 1000);
            services.AddDbContextPool<OrchestratorDbContext>(db => db
                .UseSqlite(sqlite)
                .UseSnakeCaseNamingConvention()
                .AddInterceptors(setup)
                .ConfigureWarnings(ConfigureEvents));
        }

        return services;
    }

    /// <summary>
    /// The migrations are written by hand without a model snapshot, so EF cannot compare the model with
    /// one; the schema tests check the two agree instead. EF's own error events for a failed statement
    /// and a failed connection are logged at Debug: some failures are answers (a taken unique key finds
    /// the existing task run or gives a 409), a start-up waiting for its database says so in a line of its
    /// own, and every other failure reaches <c>ErrorHandling</c>, which logs it with the request.
    /// </summary>
    private static void ConfigureEvents(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning)
            .Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug),
                (RelationalEventId.ConnectionError, LogLevel.Debug));

    /// <summary>
    /// Statements are prepared automatically unless the connection string says otherwise: a transition
    /// runs the same few statements over and over, and parsing and planning them each time cost
    /// PostgreSQL as much CPU as executing them (the benchmark measured 255 against 460 set_state/s).
    /// Set <c>Max Auto Prepare=0</c> behind a pooler that cannot carry prepared statements.
    /// <para>
    /// A pooled connection is not reset when it is handed back (<c>No Reset On Close</c>, unless the
    /// connection string says otherwise): the reset is seven statements PostgreSQL runs on every
    /// request's first round trip, and the server leaves nothing on a session to reset (its one
    /// session-level advisory lock, the migrations', is released where it is taken).
    /// </para>
    /// </summary>
    private static string PostgresConnectionString(string configured)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(configured);
        if (!configured.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase)
            && !configured.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 20;
        }

        if (!configured.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)
            && !configured.Contains("ResetOnClose", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// The default is a file in the data directory. Writers wait up to 30 s for SQLite's single write
    /// lock instead of failing with "database is locked".
    /// </summary>
    private static string SqliteConnectionString(string? configured, string dataDirectory)
    {
        var builder = new SqliteConnectionStringBuilder(configured ?? "");
        if (string.IsNullOrEmpty(builder.DataSource))
        {
            Directory.CreateDirectory(dataDirectory);
            builder.DataSource = Path.Combine(dataDirectory, "orchestrator.db");
        }

        if (builder.DefaultTimeout == new SqliteConnectionStringBuilder().DefaultTimeout)
        {
            builder.DefaultTimeout = 30;
        }

        return builder.ToString();
    }

    /// <summary>
    /// Applies pending migrations (several instances starting at once take turns: EF's migration lock),
    /// then registers the built-in block types. A PostgreSQL server that cannot be reached yet is waited
    /// for (<see cref="DatabaseOptions.ConnectWaitSeconds"/>), one line per attempt. False when the
    /// database cannot be prepared: the reason is logged as one line that says what to do, and the server
    /// should exit instead of serving.
    /// </summary>
    public static async Task<bool> TryPrepareDatabaseAsync(this IServiceProvider services, ILogger logger, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        var options = scope.ServiceProvider.GetService<DatabaseOptions>() ?? new DatabaseOptions();
        string where = db.IsPostgres
            ? $"PostgreSQL database {db.Database.GetDbConnection().Database} on {db.Database.GetDbConnection().DataSource}"
            : $"SQLite file {new SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource}";
        var giveUpAt = time.GetUtcNow().AddSeconds(Math.Max(0, options.ConnectWaitSeconds));
        var pause = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await PrepareAsync(db, time, cancellationToken);
                break;
            }
            catch (Exception error) when (IsNotReachableYet(error) && time.GetUtcNow() + pause <= giveUpAt)
            {
                logger.LogWarning("Waiting for the {Database}: {Reason}; trying again in {Pause} s (until {GiveUpAt:HH:mm:ss})",
                    where, Explain(error), pause.TotalSeconds, giveUpAt.ToLocalTime());
                await Task.Delay(pause, time, cancellationToken);
                pause = TimeSpan.FromSeconds(Math.Min(pause.TotalSeconds * 2, 5));
            }
            catch (Exception error) when (error is System.Data.Common.DbException or DbUpdateException or InvalidOperationException or TimeoutException)
            {
                logger.LogDebug(error, "Preparing the {Database} failed", where);
                logger.LogCritical("Cannot prepare the {Database}: {Reason}", where, Explain(error));
                return false;
            }
        }

        logger.LogInformation("Using the {Database}", where);
        return true;
    }

    private static async Task PrepareAsync(OrchestratorDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        if (db.IsPostgres)
        {
            await MigrateOneAtATimeAsync(db, time, cancellationToken);
            return;
        }

        // Readers never block the writer and the writer never blocks readers in WAL mode.
        await db.Database.OpenConnectionAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        await db.Database.CloseConnectionAsync();
        await db.Database.MigrateAsync(cancellationToken);
        await BuiltinBlocks.RegisterAsync(db, time, cancellationToken);
    }

    /// <summary>
    /// What a start-up should wait out: Npgsql's own judgement of a failure as transient (refused or
    /// reset connections, unknown host names, timeouts, "the database system is starting up").
    /// </summary>
    private static bool IsNotReachableYet(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is Npgsql.NpgsqlException { IsTransient: true })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The advisory lock instances starting on one PostgreSQL database take turns under ("ORCHMIGR").</summary>
    private const long MigrationLock = 0x4F52434D49475200;

    /// <summary>
    /// Instances starting together on an empty database would each create the migration history table
    /// and the first tables, and all but one would fail ("relation already exists"). A session-level
    /// advisory lock, held on the connection the migrations run on, makes them take turns: the first
    /// migrates, the others then find nothing to do.
    /// </summary>
    private static async Task MigrateOneAtATimeAsync(OrchestratorDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLock})", cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            await BuiltinBlocks.RegisterAsync(db, time, cancellationToken);
        }
        finally
        {
            // Closing returns the connection to the pool, where the session (and its lock) lives on.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None);
            await db.Database.CloseConnectionAsync();
        }
    }

    private static string Explain(Exception error)
    {
        Exception root = error;
        while (root.InnerException is not null && root is not System.Data.Common.DbException)
        {
            root = root.InnerException;
        }

        return root switch
        {
            Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.InsufficientPrivilege } denied =>
                $"{denied.MessageText}. The server's role must own the database (ALTER DATABASE … OWNER TO …); GRANT ALL ON DATABASE is not enough to create its tables.",
            Npgsql.PostgresException postgres => $"{postgres.MessageText} (SQLSTATE {postgres.SqlState}).",
            // "Failed to connect to …" alone does not say whether it was refused, timed out or unknown.
            Npgsql.NpgsqlException { InnerException: { } cause } npgsql => $"{npgsql.Message.TrimEnd('.')} ({cause.Message.TrimEnd('.')})",
            _ => root.Message,
        };
    }
}
