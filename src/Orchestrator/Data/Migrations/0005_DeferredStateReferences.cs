using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Orchestrator.Data.Migrations;

/// <summary>
/// On PostgreSQL a state row's reference to its run is checked at the commit instead of at the insert,
/// so a new run and its first state can be written in one batch, the state first (the run's pointer to
/// its state orders them that way). Deletes still cascade at once: PostgreSQL defers only the check.
/// SQLite keeps the immediate check; there the run is inserted before its state.
/// </summary>
[DbContext(typeof(OrchestratorDbContext))]
[Migration("0005_DeferredStateReferences")]
public sealed class DeferredStateReferences : Migration
{
    private static readonly string[] Constraints =
    [
        "flow_run_state ALTER CONSTRAINT fk_flow_run_state_flow_run",
        "task_run_state ALTER CONSTRAINT fk_task_run_state_task_run",
    ];

    protected override void Up(MigrationBuilder migrationBuilder)
    {
        if (migrationBuilder.IsNpgsql())
        {
            foreach (string constraint in Constraints)
            {
                migrationBuilder.Sql($"ALTER TABLE {constraint} DEFERRABLE INITIALLY DEFERRED;");
            }
        }
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        if (migrationBuilder.IsNpgsql())
        {
            foreach (string constraint in Constraints)
            {
                migrationBuilder.Sql($"ALTER TABLE {constraint} NOT DEFERRABLE;");
            }
        }
    }
}
