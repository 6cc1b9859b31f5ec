using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Orchestrator.Data.Migrations;

/// <summary>
/// Block types, block schemas and block documents (the Prefect client saves its result storage as a
/// block before a flow runs) and the log table clients ship their run logs to.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("0002_BlocksAndLogs")]
public sealed class BlocksAndLogs : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "block_type",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Slug = table.Column<string>(name: "slug"),
                LogoUrl = table.Column<string>(name: "logo_url", nullable: true),
                DocumentationUrl = table.Column<string>(name: "documentation_url", nullable: true),
                Description = table.Column<string>(name: "description", nullable: true),
                CodeExample = table.Column<string>(name: "code_example", nullable: true),
                IsProtected = table.Column<bool>(name: "is_protected"),
            },
            constraints: table => table.PrimaryKey("pk_block_type", x => x.Id));
        migrationBuilder.CreateIndex("ix_block_type_name", "block_type", "name", unique: true);
        migrationBuilder.CreateIndex("ix_block_type_slug", "block_type", "slug", unique: true);

        migrationBuilder.CreateTable(
            name: "block_schema",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Checksum = table.Column<string>(name: "checksum"),
                Fields = table.Column<string>(name: "fields"),
                BlockTypeId = table.Column<Guid>(name: "block_type_id"),
                Capabilities = table.Column<List<string>>(name: "capabilities"),
                Version = table.Column<string>(name: "version"),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_block_schema", x => x.Id);
                table.ForeignKey("fk_block_schema_block_type", x => x.BlockTypeId, "block_type", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_block_schema_checksum_version", "block_schema", ["checksum", "version"], unique: true);
        migrationBuilder.CreateIndex("ix_block_schema_block_type_id", "block_schema", "block_type_id");

        migrationBuilder.CreateTable(
            name: "block_document",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Data = table.Column<string>(name: "data"),
                BlockSchemaId = table.Column<Guid>(name: "block_schema_id"),
                BlockTypeId = table.Column<Guid>(name: "block_type_id"),
                IsAnonymous = table.Column<bool>(name: "is_anonymous"),
            },
            constraints: table =>
            {
                table.PrimaryKey("pk_block_document", x => x.Id);
                table.ForeignKey("fk_block_document_block_schema", x => x.BlockSchemaId, "block_schema", "id", onDelete: ReferentialAction.Cascade);
                table.ForeignKey("fk_block_document_block_type", x => x.BlockTypeId, "block_type", "id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("ix_block_document_block_type_id_name", "block_document", ["block_type_id", "name"], unique: true);
        migrationBuilder.CreateIndex("ix_block_document_block_schema_id", "block_document", "block_schema_id");

        migrationBuilder.CreateTable(
            name: "log",
            columns: table => new
            {
                Id = table.Column<Guid>(name: "id"),
                Created = table.Column<DateTime>(name: "created"),
                Updated = table.Column<DateTime>(name: "updated"),
                Name = table.Column<string>(name: "name"),
                Level = table.Column<int>(name: "level"),
                Message = table.Column<string>(name: "message"),
                Timestamp = table.Column<DateTime>(name: "timestamp"),
                FlowRunId = table.Column<Guid>(name: "flow_run_id", nullable: true),
                TaskRunId = table.Column<Guid>(name: "task_run_id", nullable: true),
            },
            constraints: table => table.PrimaryKey("pk_log", x => x.Id));
        migrationBuilder.CreateIndex("ix_log_flow_run_id_timestamp", "log", ["flow_run_id", "timestamp"]);
        migrationBuilder.CreateIndex("ix_log_task_run_id_timestamp", "log", ["task_run_id", "timestamp"]);
        migrationBuilder.CreateIndex("ix_log_timestamp", "log", "timestamp");
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        foreach (string table in new[] { "log", "block_document", "block_schema", "block_type" })
        {
            migrationBuilder.DropTable(table);
        }
    }
}
