using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Orchestrator.Data.Migrations;

/// <summary>
/// How long a concurrency limit's slots are held, on average over recent releases: a task told to WAIT
/// for a full limit is told to come back about when a slot should free.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("0004_SlotOccupancy")]
public sealed class SlotOccupancy : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<double>(name: "mean_slot_seconds", table: "concurrency_limit", nullable: true);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropColumn(name: "mean_slot_seconds", table: "concurrency_limit");
    }
}
