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

    /// <summary>Where the default SQLite file lives; created on first start.</summary>
    public string DataDirectory { get; set; } = "data";

    public bool IsPostgres => string.Equals(Provider, "Postgres", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Provider, "PostgreSQL", StringComparison.OrdinalIgnoreCase);
}

public static class DatabaseSetup
{
    public const string ConnectionStringName = "Orchestrator";

    public static IServiceCollection AddOrchestratorDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();
        string? connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (options.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException("Database:Provider is Postgres but ConnectionStrings:Orchestrator is not set.");
            }

            services.AddDbContextPool<OrchestratorDbContext>(db => db
                .UseNpgsql(PostgresConnectionString(connectionString))
                .ConfigureWarnings(ConfigureEvents));
        }
        else
        {
            string sqlite = SqliteConnectionString(connectionString, options.DataDirectory);
            var setup = new SqliteConnectionSetup(new SqliteConnectionStringBuilder(sqlite).DefaultTimeout * 1000);
            services.AddDbContextPool<OrchestratorDbContext>(db => db
                .UseSqlite(sqlite)
                .AddInterceptors(setup)
                .ConfigureWarnings(ConfigureEvents));
        }

        return services;
    }

    /// <summary>
    /// The migrations are written by hand without a model snapshot, so EF cannot compare the model with
    /// one; the schema tests check the two agree instead. EF's own error events for a failed statement
    /// are logged at Debug: some failures are answers (a taken unique key finds the existing task run or
    /// gives a 409), and every other one reaches <c>ErrorHandling</c>, which logs it with the request.
    /// </summary>
    private static void ConfigureEvents(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning)
            .Log((RelationalEventId.CommandError, LogLevel.Debug), (CoreEventId.SaveChangesFailed, LogLevel.Debug));

    /// <summary>
    /// Statements are prepared automatically unless the connection string says otherwise: a transition
    /// runs the same few statements over and over, and parsing and planning them each time cost
    /// PostgreSQL as much CPU as executing them (the benchmark measured 255 against 460 set_state/s).
    /// Set <c>Max Auto Prepare=0</c> behind a pooler that cannot carry prepared statements.
    /// </summary>
    private static string PostgresConnectionString(string configured)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(configured);
        if (!configured.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase)
            && !configured.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 20;
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
    /// then registers the built-in block types.
    /// </summary>
    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        if (!db.IsPostgres)
        {
            // Readers never block the writer and the writer never blocks readers in WAL mode.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            await db.Database.CloseConnectionAsync();
        }


        await db.Database.MigrateAsync(cancellationToken);
        await BuiltinBlocks.RegisterAsync(db, scope.ServiceProvider.GetRequiredService<TimeProvider>(), cancellationToken);
    }
}
