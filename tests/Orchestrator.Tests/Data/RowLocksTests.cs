using FluentAssertions;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Data;

/// <summary>A query tagged with a <see cref="RowLocks"/> tag locks the tagged table's rows, and only those.</summary>
public sealed class RowLocksTests
{
    [Fact]
    public void TheLockingClause_NamesTheTaggedTablesAlias_NotAJoinedTables()
    {
        const string sql = """
            -- FOR UPDATE OF task_run

            SELECT t.id, t0.id, (
                SELECT f.run_count
                FROM flow_run AS f
                WHERE f.id = t.flow_run_id
                LIMIT 1)
            FROM task_run AS t
            LEFT JOIN task_run_state AS t0 ON t.state_id = t0.id
            WHERE t.id = @id
            LIMIT 1
            """;

        RowLockInterceptor.WithLockingClause(sql).Should().EndWith("LIMIT 1 FOR UPDATE OF t");
    }

    [Fact]
    public void AQueryThatDoesNotReadTheTaggedTable_IsRefused_RatherThanSentWithoutItsLock()
    {
        var act = () => RowLockInterceptor.WithLockingClause("-- FOR UPDATE OF task_run\n\nSELECT f.id FROM flow_run AS f");

        act.Should().Throw<InvalidOperationException>().WithMessage("*does not read task_run*");
    }

    [Theory]
    [InlineData("task")]
    [InlineData("flow")]
    public async Task ATransitionsRead_HoldsTheRunRow_UntilItsTransactionEnds(string kind)
    {
        await using var app = await TestApp.StartAsync(DatabaseKind.Postgres);
        Guid id = await app.RunInStateAsync(kind, new { type = "PENDING" });
        string table = kind == "task" ? "task_run" : "flow_run";

        await app.WithDbAsync(db => db.InTransactionAsync(async () =>
        {
            object? run = kind == "task"
                ? (await RunQueries.TaskRunForTransition(db, id, CancellationToken.None))?.Run
                : await RunQueries.FlowRunForTransition(db, id, CancellationToken.None);
            run.Should().NotBeNull();

            await using var other = new NpgsqlConnection(app.ConnectionString);
            await other.OpenAsync();
            await using var probe = new NpgsqlCommand($"SELECT id FROM {table} WHERE id = @id FOR UPDATE NOWAIT", other);
            probe.Parameters.AddWithValue("id", id);
            var locked = () => probe.ExecuteScalarAsync();
            (await locked.Should().ThrowAsync<PostgresException>()).Which.SqlState.Should().Be(PostgresErrorCodes.LockNotAvailable);

            // The joined state row is read, not locked.
            await using var state = new NpgsqlCommand($"SELECT s.id FROM {table}_state s JOIN {table} r ON r.state_id = s.id WHERE r.id = @id FOR UPDATE OF s NOWAIT", other);
            state.Parameters.AddWithValue("id", id);
            (await state.ExecuteScalarAsync()).Should().NotBeNull();
            return true;
        }, CancellationToken.None));
    }

    [Fact]
    public async Task ALockThatWaitedForAnotherTransition_ReturnsTheRunAsThatTransitionLeftIt_NotItsOldState()
    {
        await using var app = await TestApp.StartAsync(DatabaseKind.Postgres);
        Guid id = await app.RunInStateAsync("task", new { type = "PENDING" });
        Guid oldState = (await app.TaskRunAsync(id)).StateId!.Value;
        Guid newState = Guid.NewGuid();

        // Another transition: the run locked, a new state written, not yet committed.
        await using var other = new NpgsqlConnection(app.ConnectionString);
        await other.OpenAsync();
        await using var transition = await other.BeginTransactionAsync();
        await using (var write = new NpgsqlCommand(
            """
            SELECT id FROM task_run WHERE id = @id FOR UPDATE;
            INSERT INTO task_run_state (id, created, updated, task_run_id, type, name, timestamp, state_details)
                SELECT @state, now(), now(), id, 'RUNNING', 'Running', now() + interval '1 second', '{}' FROM task_run WHERE id = @id;
            UPDATE task_run SET state_id = @state, state_type = 'RUNNING', state_name = 'Running' WHERE id = @id;
            """, other, transition))
        {
            write.Parameters.AddWithValue("id", id);
            write.Parameters.AddWithValue("state", newState);
            await write.ExecuteNonQueryAsync();
        }

        var waiting = app.WithDbAsync(db => db.InTransactionAsync(
            () => RunQueries.TaskRunForTransition(db, id, CancellationToken.None), CancellationToken.None));
        await WaitUntilALockIsAwaitedAsync(app);
        await transition.CommitAsync();
        var locked = await waiting;

        locked.Should().NotBeNull("a lock that waited still returns the row");
        locked!.Run.StateId.Should().Be(newState);
        locked.Run.StateType.Should().Be(Orchestrator.Data.StateType.Running);
        // The joined state is from the snapshot before the wait, where the new state did not exist: it
        // comes back empty (never the old state), which tells the transition to read it anew.
        locked.State.Should().BeNull();
        oldState.Should().NotBe(newState);
    }

    private static async Task WaitUntilALockIsAwaitedAsync(TestApp app)
    {
        await using var watcher = new NpgsqlConnection(app.ConnectionString);
        await watcher.OpenAsync();
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", watcher);
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if ((long)(await waiting.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("The lock query never waited for the other transition's lock.");
    }
}
