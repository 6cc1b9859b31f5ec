using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

public sealed class OrchestratorDbContext(DbContextOptions<OrchestratorDbContext> options) : DbContext(options)
{
    public DbSet<Flow> Flows => Set<Flow>();
    public DbSet<FlowRun> FlowRuns => Set<FlowRun>();
    public DbSet<TaskRun> TaskRuns => Set<TaskRun>();
    public DbSet<FlowRunState> FlowRunStates => Set<FlowRunState>();
    public DbSet<TaskRunState> TaskRunStates => Set<TaskRunState>();
    public DbSet<TaskRunStateCache> TaskRunStateCache => Set<TaskRunStateCache>();
    public DbSet<ConcurrencyLimit> ConcurrencyLimits => Set<ConcurrencyLimit>();
    public DbSet<Deployment> Deployments => Set<Deployment>();
    public DbSet<BlockType> BlockTypes => Set<BlockType>();
    public DbSet<BlockSchema> BlockSchemas => Set<BlockSchema>();
    public DbSet<BlockDocument> BlockDocuments => Set<BlockDocument>();
    public DbSet<Log> Logs => Set<Log>();
    public DbSet<WorkQueue> WorkQueues => Set<WorkQueue>();
    public DbSet<SavedSearch> SavedSearches => Set<SavedSearch>();
    public DbSet<FlowRunNotificationPolicy> FlowRunNotificationPolicies => Set<FlowRunNotificationPolicy>();
    public DbSet<FlowRunNotification> FlowRunNotifications => Set<FlowRunNotification>();

    // Asked on every request; the provider's name is found by reflection, so it is looked up once.
    private bool? _isPostgres;

    public bool IsPostgres => _isPostgres ??= Database.ProviderName == "Npgsql.EntityFrameworkCore.PostgreSQL";

    // The state of CommitWithLastSave for the transaction in progress; reset when it ends, as the
    // context is pooled.
    internal bool CommitsWithLastSave { get; set; }

    internal bool AppendCommitToSave { get; set; }

    internal bool CommitAppended { get; set; }

    internal bool CommittedBySave { get; set; }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(OrchestratorDbContext).Assembly);
        CompareStringListsWithoutClosures(modelBuilder);
        if (!IsPostgres)
        {
            ReadDateTimesAsUtc(modelBuilder);
        }
    }

    /// <summary>
    /// Tables and columns carry Prefect's snake_case names (<c>UseSnakeCaseNamingConvention</c>, set where
    /// the context is configured), so the schema reads like the API. A table is named for its entity, as
    /// Prefect's are (<c>flow_run</c>), not for the DbSet (<c>flow_runs</c>).
    /// </summary>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) =>
        configurationBuilder.Conventions.Remove<TableNameFromDbSetConvention>();

    /// <summary>
    /// EF's own comparer for lists of strings is built from nested lambdas, and a compiled expression
    /// creates a new delegate for a nested lambda on every call: every snapshot and change check of a run
    /// paid for it (it showed up in the profile of a transition). Ours calls plain methods.
    /// </summary>
    private static void CompareStringListsWithoutClosures(ModelBuilder modelBuilder)
    {
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.ClrType == typeof(List<string>))
            {
                property.SetValueComparer(StringListComparer.Instance);
            }
        }
    }

    /// <summary>SQLite hands DateTime back with an unspecified kind; every time we store is UTC.</summary>
    private static void ReadDateTimesAsUtc(ModelBuilder modelBuilder)
    {
        var converter = new Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime, DateTime>(
            v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.ClrType == typeof(DateTime) || property.ClrType == typeof(DateTime?))
            {
                property.SetValueConverter(converter);
            }
        }
    }
}

public static class PropertyBuilderExtensions
{
    /// <summary>
    /// Stores an immutable record as JSON text: the same column type and content on SQLite and PostgreSQL.
    /// Records compare by value and are never changed in place, so change tracking needs no JSON at all.
    /// </summary>
    public static PropertyBuilder<T> HasJsonConversion<T>(this PropertyBuilder<T> property)
        where T : class, IEquatable<T>
    {
        property.HasConversion(
            v => Json.Serialize(v),
            v => Json.Deserialize<T>(v),
            new ValueComparer<T>(
                (a, b) => Equals(a, b),
                v => v.GetHashCode(),
                v => v));
        return property;
    }

    public static PropertyBuilder<RawJson> HasRawJsonConversion(this PropertyBuilder<RawJson> property)
    {
        property.HasConversion(v => v.Text, v => new RawJson(v));
        return property;
    }

    public static PropertyBuilder<RawJson?> HasRawJsonConversion(this PropertyBuilder<RawJson?> property)
    {
        property.HasConversion(v => v!.Value.Text, v => new RawJson(v));
        return property;
    }

    public static PropertyBuilder<StateType> HasWireConversion(this PropertyBuilder<StateType> property)
    {
        property.HasConversion(v => v.ToWire(), v => StateTypes.FromWire(v)!.Value);
        return property;
    }

    public static PropertyBuilder<StateType?> HasWireConversion(this PropertyBuilder<StateType?> property)
    {
        property.HasConversion(v => v!.Value.ToWire(), v => StateTypes.FromWire(v)!.Value);
        return property;
    }
}
