using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Orchestrator.Data.Migrations;

/// <summary>
/// The other half of a Prefect server: work queues agents poll, saved UI searches, flow-run notification
/// policies with the queue of notifications waiting to be sent, and the indexes the scheduler, the
/// late-runs service and get_runs read by.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("0003_ServerServices")]
public sealed class ServerServices : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "work_queue",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Description = table.Column<string>(name: "description"),
                IsPaused = table.Column<bool>(name: "is_paused"),
                ConcurrencyLimit = table.Column<int>(name: "concurrency_limit", nullable: true),
                Filter = table.Column<string>(name: "filter", nullable: true),
                LastPolled = table.Column<DateTime>(name: "last_polled", nullable: true),
            },
            constraints: table => table.PrimaryKey("pk_work_queue", x => x.Id));
        migrationBuilder.CreateIndex("ix_work_queue_name", "work_queue", "name", unique: true);

        migrationBuilder.CreateTable(
            name: "saved_search",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Filters = table.Column<string>(name: "filters"),
            },
            constraints: table => table.PrimaryKey("pk_saved_search", x => x.Id));
        migrationBuilder.CreateIndex("ix_saved_search_name", "saved_search", "name", unique: true);

        migrationBuilder.CreateTable(
            name: "flow_run_notification_policy",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                IsActive = table.Column<bool>(name: "is_active"),
                StateNames = table.Column<List<string>>(name: "state_names"),
                Tags = table.Column<List<string>>(name: "tags"),
                BlockDocumentId = table.Column<Guid>(name: "block_document_id"),
                MessageTemplate = table.Column<string>(name: "message_template", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_flow_run_notification_policy", x => x.Id);
                table.ForeignKey("fk_flow_run_notification_policy_block_document", x => x.BlockDocumentId, "block_document", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_flow_run_notification_policy_block_document_id", "flow_run_notification_policy", "block_document_id");

        migrationBuilder.CreateTable(
            name: "flow_run_notification",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                FlowRunNotificationPolicyId = table.Column<Guid>(name: "flow_run_notification_policy_id"),
                FlowRunStateId = table.Column<Guid>(name: "flow_run_state_id"),
                Attempts = table.Column<int>(name: "attempts"),
                NextAttempt = table.Column<DateTime>(name: "next_attempt"),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_flow_run_notification", x => x.Id);
                table.ForeignKey("fk_flow_run_notification_policy", x => x.FlowRunNotificationPolicyId, "flow_run_notification_policy", "id", onDelete: ReferentialAction.Cascade);
                table.ForeignKey("fk_flow_run_notification_state", x => x.FlowRunStateId, "flow_run_state", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_flow_run_notification_next_attempt", "flow_run_notification", "next_attempt");
        migrationBuilder.CreateIndex("ix_flow_run_notification_policy_id", "flow_run_notification", "flow_run_notification_policy_id");
        migrationBuilder.CreateIndex("ix_flow_run_notification_state_id", "flow_run_notification", "flow_run_state_id");

        migrationBuilder.CreateIndex("ix_flow_run_work_queue_state", "flow_run", ["work_queue_name", "state_type", "next_scheduled_start_time"]);
        migrationBuilder.CreateIndex("ix_flow_run_state_next_scheduled", "flow_run", ["state_type", "next_scheduled_start_time"]);
    }
}
