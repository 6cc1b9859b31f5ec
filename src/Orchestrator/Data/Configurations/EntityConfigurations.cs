using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Orchestrator.Data.Configurations;

internal static class RunConfiguration
{
    /// <summary>The columns flow runs and task runs share, mapped the same way on both tables.</summary>
    public static void ConfigureRunFields<TRun>(EntityTypeBuilder<TRun> builder) where TRun : Run
    {
        builder.HasKey(r => r.Id);
        builder.Property(r => r.StateType).HasWireConversion();
        builder.Property(r => r.EmpiricalPolicy).HasJsonConversion();
    }

    /// <summary>
    /// A state row references its run in the database (a foreign key with ON DELETE CASCADE, deferred to
    /// the commit on PostgreSQL), but not in EF's model: there the run already points at its current
    /// state, and EF refuses to save two new rows that point at each other. Known only one way round, a
    /// new run and its first state go out in one batch, the state first, and PostgreSQL checks the
    /// reference when the batch's COMMIT arrives.
    /// </summary>
    public static void ConfigureStateFields<TState>(EntityTypeBuilder<TState> builder) where TState : RunState
    {
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Type).HasWireConversion();
        builder.Property(s => s.Data).HasRawJsonConversion();
        builder.Property(s => s.StateDetails).HasJsonConversion();
    }
}

internal sealed class FlowConfiguration : IEntityTypeConfiguration<Flow>
{
    public void Configure(EntityTypeBuilder<Flow> builder)
    {
        builder.HasKey(f => f.Id);
        builder.HasIndex(f => f.Name).IsUnique();
    }
}

internal sealed class FlowRunConfiguration : IEntityTypeConfiguration<FlowRun>
{
    public void Configure(EntityTypeBuilder<FlowRun> builder)
    {
        RunConfiguration.ConfigureRunFields(builder);
        builder.Property(r => r.Parameters).HasRawJsonConversion();
        builder.Property(r => r.Context).HasRawJsonConversion();
        builder.HasOne<Flow>().WithMany().HasForeignKey(r => r.FlowId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Deployment>().WithMany().HasForeignKey(r => r.DeploymentId).OnDelete(DeleteBehavior.SetNull);
        builder.HasOne<TaskRun>().WithMany().HasForeignKey(r => r.ParentTaskRunId).OnDelete(DeleteBehavior.SetNull);
        // The current-state pointer has no database constraint (the state row references the run, so a
        // constraint both ways would be a cycle); the engine keeps it pointing at the newest state.
        builder.HasOne(r => r.State).WithMany().HasForeignKey(r => r.StateId).OnDelete(DeleteBehavior.ClientSetNull);
        builder.HasIndex(r => new { r.FlowId, r.IdempotencyKey }).IsUnique();
        builder.HasIndex(r => r.DeploymentId);
        builder.HasIndex(r => r.ParentTaskRunId);
        builder.HasIndex(r => r.ExpectedStartTime);
        builder.HasIndex(r => r.Name);
        // What get_runs and the work-queue concurrency rule ask: a queue's runs by state, soonest first.
        builder.HasIndex(r => new { r.WorkQueueName, r.StateType, r.NextScheduledStartTime });
        // What the scheduler and the late-runs service ask: a deployment's scheduled runs, and overdue ones.
        builder.HasIndex(r => new { r.StateType, r.NextScheduledStartTime });
    }
}

internal sealed class TaskRunConfiguration : IEntityTypeConfiguration<TaskRun>
{
    public void Configure(EntityTypeBuilder<TaskRun> builder)
    {
        RunConfiguration.ConfigureRunFields(builder);
        builder.Property(r => r.TaskInputs).HasRawJsonConversion();
        builder.HasOne<FlowRun>().WithMany().HasForeignKey(r => r.FlowRunId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(r => r.State).WithMany().HasForeignKey(r => r.StateId).OnDelete(DeleteBehavior.ClientSetNull);
        builder.HasIndex(r => new { r.FlowRunId, r.TaskKey, r.DynamicKey }).IsUnique();
        builder.HasIndex(r => r.ExpectedStartTime);
        builder.HasIndex(r => r.Name);
    }
}

internal sealed class FlowRunStateConfiguration : IEntityTypeConfiguration<FlowRunState>
{
    public void Configure(EntityTypeBuilder<FlowRunState> builder)
    {
        // The state's reference to its run (ON DELETE CASCADE) is declared by the migrations only; see
        // RunConfiguration.ConfigureStateFields.
        RunConfiguration.ConfigureStateFields(builder);
        builder.HasIndex(s => new { s.FlowRunId, s.Timestamp }).IsUnique();
    }
}

internal sealed class TaskRunStateConfiguration : IEntityTypeConfiguration<TaskRunState>
{
    public void Configure(EntityTypeBuilder<TaskRunState> builder)
    {
        // The state's reference to its run: as for flow run states.
        RunConfiguration.ConfigureStateFields(builder);
        builder.HasIndex(s => new { s.TaskRunId, s.Timestamp }).IsUnique();
    }
}

internal sealed class TaskRunStateCacheConfiguration : IEntityTypeConfiguration<TaskRunStateCache>
{
    public void Configure(EntityTypeBuilder<TaskRunStateCache> builder)
    {
        builder.HasKey(c => c.Id);
        builder.HasIndex(c => new { c.CacheKey, c.Created });
    }
}

internal sealed class ConcurrencyLimitConfiguration : IEntityTypeConfiguration<ConcurrencyLimit>
{
    public void Configure(EntityTypeBuilder<ConcurrencyLimit> builder)
    {
        builder.HasKey(l => l.Id);
        builder.HasIndex(l => l.Tag).IsUnique();
        builder.Property(l => l.Limit).HasColumnName("concurrency_limit");
    }
}

internal sealed class DeploymentConfiguration : IEntityTypeConfiguration<Deployment>
{
    public void Configure(EntityTypeBuilder<Deployment> builder)
    {
        builder.HasKey(d => d.Id);
        builder.HasOne<Flow>().WithMany().HasForeignKey(d => d.FlowId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(d => new { d.FlowId, d.Name }).IsUnique();
        builder.Property(d => d.Schedule).HasRawJsonConversion();
        builder.Property(d => d.InfraOverrides).HasRawJsonConversion();
        builder.Property(d => d.Parameters).HasRawJsonConversion();
        builder.Property(d => d.ParameterOpenapiSchema).HasRawJsonConversion();
        builder.Property(d => d.CreatedBy).HasRawJsonConversion();
        builder.Property(d => d.UpdatedBy).HasRawJsonConversion();
    }
}

internal sealed class BlockTypeConfiguration : IEntityTypeConfiguration<BlockType>
{
    public void Configure(EntityTypeBuilder<BlockType> builder)
    {
        builder.HasKey(t => t.Id);
        builder.HasIndex(t => t.Name).IsUnique();
        builder.HasIndex(t => t.Slug).IsUnique();
    }
}

internal sealed class BlockSchemaConfiguration : IEntityTypeConfiguration<BlockSchema>
{
    public void Configure(EntityTypeBuilder<BlockSchema> builder)
    {
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Fields).HasRawJsonConversion();
        builder.HasOne(s => s.BlockType).WithMany().HasForeignKey(s => s.BlockTypeId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(s => new { s.Checksum, s.Version }).IsUnique();
        builder.HasIndex(s => s.BlockTypeId);
    }
}

internal sealed class BlockDocumentConfiguration : IEntityTypeConfiguration<BlockDocument>
{
    public void Configure(EntityTypeBuilder<BlockDocument> builder)
    {
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Data).HasRawJsonConversion();
        builder.HasOne(d => d.BlockSchema).WithMany().HasForeignKey(d => d.BlockSchemaId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne(d => d.BlockType).WithMany().HasForeignKey(d => d.BlockTypeId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(d => new { d.BlockTypeId, d.Name }).IsUnique();
        builder.HasIndex(d => d.BlockSchemaId);
    }
}

internal sealed class LogConfiguration : IEntityTypeConfiguration<Log>
{
    public void Configure(EntityTypeBuilder<Log> builder)
    {
        builder.HasKey(l => l.Id);
        builder.HasIndex(l => new { l.FlowRunId, l.Timestamp });
        builder.HasIndex(l => new { l.TaskRunId, l.Timestamp });
        builder.HasIndex(l => l.Timestamp);
    }
}

internal sealed class WorkQueueConfiguration : IEntityTypeConfiguration<WorkQueue>
{
    public void Configure(EntityTypeBuilder<WorkQueue> builder)
    {
        builder.HasKey(q => q.Id);
        builder.HasIndex(q => q.Name).IsUnique();
        builder.Property(q => q.Filter).HasRawJsonConversion();
    }
}

internal sealed class SavedSearchConfiguration : IEntityTypeConfiguration<SavedSearch>
{
    public void Configure(EntityTypeBuilder<SavedSearch> builder)
    {
        builder.HasKey(s => s.Id);
        builder.HasIndex(s => s.Name).IsUnique();
        builder.Property(s => s.Filters).HasRawJsonConversion();
    }
}

internal sealed class FlowRunNotificationPolicyConfiguration : IEntityTypeConfiguration<FlowRunNotificationPolicy>
{
    public void Configure(EntityTypeBuilder<FlowRunNotificationPolicy> builder)
    {
        builder.HasKey(p => p.Id);
        builder.HasOne<BlockDocument>().WithMany().HasForeignKey(p => p.BlockDocumentId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class FlowRunNotificationConfiguration : IEntityTypeConfiguration<FlowRunNotification>
{
    public void Configure(EntityTypeBuilder<FlowRunNotification> builder)
    {
        builder.HasKey(n => n.Id);
        builder.HasOne<FlowRunNotificationPolicy>().WithMany().HasForeignKey(n => n.FlowRunNotificationPolicyId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<FlowRunState>().WithMany().HasForeignKey(n => n.FlowRunStateId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(n => n.NextAttempt);
    }
}
