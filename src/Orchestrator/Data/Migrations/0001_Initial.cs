using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Orchestrator.Data.Migrations;

/// <summary>
/// The first schema. Written by hand (the EF design-time tools are not available to us): column types
/// come from each provider's mapping of the CLR type, so the same operations give the equivalent schema
/// on SQLite and PostgreSQL. Lists of tags and slot ids are arrays on PostgreSQL and JSON text on
/// SQLite, which is how EF maps primitive collections on each, so tag filters run in SQL on both.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("0001_Initial")]
public sealed class Initial : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "flow",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Tags = table.Column<List<string>>(name: "tags"),
            },
            constraints: table => table.PrimaryKey("pk_flow", x => x.Id));
        migrationBuilder.CreateIndex("ix_flow_name", "flow", "name", unique: true);

        migrationBuilder.CreateTable(
            name: "deployment",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                FlowId = table.Column<Guid>(name: "flow_id"),
                Version = table.Column<string>(name: "version", nullable: true),
                Description = table.Column<string>(name: "description", nullable: true),
                Schedule = table.Column<string>(name: "schedule", nullable: true),
                IsScheduleActive = table.Column<bool>(name: "is_schedule_active"),
                InfraOverrides = table.Column<string>(name: "infra_overrides"),
                Parameters = table.Column<string>(name: "parameters"),
                Tags = table.Column<List<string>>(name: "tags"),
                WorkQueueName = table.Column<string>(name: "work_queue_name", nullable: true),
                ParameterOpenapiSchema = table.Column<string>(name: "parameter_openapi_schema", nullable: true),
                Path = table.Column<string>(name: "path", nullable: true),
                Entrypoint = table.Column<string>(name: "entrypoint", nullable: true),
                ManifestPath = table.Column<string>(name: "manifest_path", nullable: true),
                StorageDocumentId = table.Column<Guid>(name: "storage_document_id", nullable: true),
                InfrastructureDocumentId = table.Column<Guid>(name: "infrastructure_document_id", nullable: true),
                CreatedBy = table.Column<string>(name: "created_by", nullable: true),
                UpdatedBy = table.Column<string>(name: "updated_by", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_deployment", x => x.Id);
                table.ForeignKey("fk_deployment_flow", x => x.FlowId, "flow", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_deployment_flow_id_name", "deployment", ["flow_id", "name"], unique: true);

        migrationBuilder.CreateTable(
            name: "flow_run",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                StateId = table.Column<Guid>(name: "state_id", nullable: true),
                StateType = table.Column<string>(name: "state_type", nullable: true),
                StateName = table.Column<string>(name: "state_name", nullable: true),
                StateTimestamp = table.Column<DateTime>(name: "state_timestamp", nullable: true),
                RunCount = table.Column<int>(name: "run_count"),
                ExpectedStartTime = table.Column<DateTime>(name: "expected_start_time", nullable: true),
                NextScheduledStartTime = table.Column<DateTime>(name: "next_scheduled_start_time", nullable: true),
                StartTime = table.Column<DateTime>(name: "start_time", nullable: true),
                EndTime = table.Column<DateTime>(name: "end_time", nullable: true),
                TotalRunTime = table.Column<TimeSpan>(name: "total_run_time"),
                EmpiricalPolicy = table.Column<string>(name: "empirical_policy"),
                Tags = table.Column<List<string>>(name: "tags"),
                FlowId = table.Column<Guid>(name: "flow_id"),
                DeploymentId = table.Column<Guid>(name: "deployment_id", nullable: true),
                WorkQueueName = table.Column<string>(name: "work_queue_name", nullable: true),
                FlowVersion = table.Column<string>(name: "flow_version", nullable: true),
                Parameters = table.Column<string>(name: "parameters"),
                IdempotencyKey = table.Column<string>(name: "idempotency_key", nullable: true),
                Context = table.Column<string>(name: "context"),
                ParentTaskRunId = table.Column<Guid>(name: "parent_task_run_id", nullable: true),
                AutoScheduled = table.Column<bool>(name: "auto_scheduled"),
                InfrastructureDocumentId = table.Column<Guid>(name: "infrastructure_document_id", nullable: true),
                InfrastructurePid = table.Column<string>(name: "infrastructure_pid", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_flow_run", x => x.Id);
                table.ForeignKey("fk_flow_run_flow", x => x.FlowId, "flow", "id", onDelete: ReferentialAction.Cascade);
                table.ForeignKey("fk_flow_run_deployment", x => x.DeploymentId, "deployment", "id", onDelete: ReferentialAction.SetNull);
            });
        migrationBuilder.CreateIndex("ix_flow_run_flow_id_idempotency_key", "flow_run", ["flow_id", "idempotency_key"], unique: true);
        migrationBuilder.CreateIndex("ix_flow_run_deployment_id", "flow_run", "deployment_id");
        migrationBuilder.CreateIndex("ix_flow_run_parent_task_run_id", "flow_run", "parent_task_run_id");
        migrationBuilder.CreateIndex("ix_flow_run_expected_start_time", "flow_run", "expected_start_time");
        migrationBuilder.CreateIndex("ix_flow_run_name", "flow_run", "name");

        migrationBuilder.CreateTable(
            name: "task_run",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                StateId = table.Column<Guid>(name: "state_id", nullable: true),
                StateType = table.Column<string>(name: "state_type", nullable: true),
                StateName = table.Column<string>(name: "state_name", nullable: true),
                StateTimestamp = table.Column<DateTime>(name: "state_timestamp", nullable: true),
                RunCount = table.Column<int>(name: "run_count"),
                ExpectedStartTime = table.Column<DateTime>(name: "expected_start_time", nullable: true),
                NextScheduledStartTime = table.Column<DateTime>(name: "next_scheduled_start_time", nullable: true),
                StartTime = table.Column<DateTime>(name: "start_time", nullable: true),
                EndTime = table.Column<DateTime>(name: "end_time", nullable: true),
                TotalRunTime = table.Column<TimeSpan>(name: "total_run_time"),
                EmpiricalPolicy = table.Column<string>(name: "empirical_policy"),
                Tags = table.Column<List<string>>(name: "tags"),
                FlowRunId = table.Column<Guid>(name: "flow_run_id"),
                TaskKey = table.Column<string>(name: "task_key"),
                DynamicKey = table.Column<string>(name: "dynamic_key"),
                CacheKey = table.Column<string>(name: "cache_key", nullable: true),
                CacheExpiration = table.Column<DateTime>(name: "cache_expiration", nullable: true),
                TaskVersion = table.Column<string>(name: "task_version", nullable: true),
                TaskInputs = table.Column<string>(name: "task_inputs"),
                FlowRunRunCount = table.Column<int>(name: "flow_run_run_count"),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_task_run", x => x.Id);
                table.ForeignKey("fk_task_run_flow_run", x => x.FlowRunId, "flow_run", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_task_run_flow_run_id_task_key_dynamic_key", "task_run", ["flow_run_id", "task_key", "dynamic_key"], unique: true);
        migrationBuilder.CreateIndex("ix_task_run_expected_start_time", "task_run", "expected_start_time");
        migrationBuilder.CreateIndex("ix_task_run_name", "task_run", "name");

        // SQLite cannot add a foreign key to an existing table, so the subflow link is declared here
        // as an index only; the API checks the parent task run exists, and deleting a task run clears
        // the link in the same transaction.
        CreateStateTable(migrationBuilder, "flow_run_state", "flow_run_id", "flow_run");
        CreateStateTable(migrationBuilder, "task_run_state", "task_run_id", "task_run");

        migrationBuilder.CreateTable(
            name: "task_run_state_cache",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                CacheKey = table.Column<string>(name: "cache_key"),
                CacheExpiration = table.Column<DateTime>(name: "cache_expiration", nullable: true),
                TaskRunStateId = table.Column<Guid>(name: "task_run_state_id"),
            },
            constraints: table => table.PrimaryKey("pk_task_run_state_cache", x => x.Id));
        migrationBuilder.CreateIndex("ix_task_run_state_cache_cache_key_created", "task_run_state_cache", ["cache_key", "created"]);

        migrationBuilder.CreateTable(
            name: "concurrency_limit",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Tag = table.Column<string>(name: "tag"),
                Limit = table.Column<int>(name: "concurrency_limit"),
                ActiveSlots = table.Column<List<Guid>>(name: "active_slots"),
            },
            constraints: table => table.PrimaryKey("pk_concurrency_limit", x => x.Id));
        migrationBuilder.CreateIndex("ix_concurrency_limit_tag", "concurrency_limit", "tag", unique: true);
    }

    private static void CreateStateTable(MigrationBuilder migrationBuilder, string table, string runColumn, string runTable)
    {
        migrationBuilder.CreateTable(
            name: table,
            columns: t => new
            {
                Id = t.Column<Guid>(name: "id"),
                Created = t.Column<DateTime>(name: "created"),
                Updated = t.Column<DateTime>(name: "updated"),
                RunId = t.Column<Guid>(name: runColumn),
                Type = t.Column<string>(name: "type"),
                Name = t.Column<string>(name: "name"),
                Timestamp = t.Column<DateTime>(name: "timestamp"),
                Message = t.Column<string>(name: "message", nullable: true),
                Data = t.Column<string>(name: "data", nullable: true),
                StateDetails = t.Column<string>(name: "state_details"),
            },
            constraints: t =>
            {
                t.PrimaryKey($"pk_{table}", x => x.Id);
                t.ForeignKey($"fk_{table}_{runTable}", x => x.RunId, runTable, "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex($"ix_{table}_{runColumn}_timestamp", table, [runColumn, "timestamp"], unique: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        foreach (string table in new[] { "concurrency_limit", "task_run_state_cache", "task_run_state", "flow_run_state", "task_run", "flow_run", "deployment", "flow" })
        {
            migrationBuilder.DropTable(table);
        }
    }
}
