using FluentAssertions;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// Our own value comparers replace EF's for tag lists and JSON records: changes made through them must
/// still be noticed and saved, and unchanged values must not be written.
/// </summary>
public abstract class ChangeTrackingTests(DatabaseKind database)
{
    [Fact]
    public async Task TagsChangedInPlace_AreSaved()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = Guid.Parse((await app.CreateTaskRunAsync()).Str("id")!);

        await app.WithDbAsync(async db =>
        {
            var run = await db.TaskRuns.SingleAsync(r => r.Id == id);
            run.Tags.Add("added-in-place");
            await db.SaveChangesAsync();
        });

        var saved = await app.WithDbAsync(db => db.TaskRuns.AsNoTracking().SingleAsync(r => r.Id == id));
        saved.Tags.Should().Contain("added-in-place");
    }

    [Fact]
    public async Task ReplacedJsonRecords_AreSaved_AndEqualOnesLeaveTheRowUnchanged()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = Guid.Parse((await app.CreateTaskRunAsync()).Str("id")!);

        var states = await app.WithDbAsync(async db =>
        {
            var run = await db.TaskRuns.SingleAsync(r => r.Id == id);
            run.EmpiricalPolicy = run.EmpiricalPolicy with { };
            var untouched = db.Entry(run).State;
            run.EmpiricalPolicy = run.EmpiricalPolicy with { MaxRetries = 7 };
            db.ChangeTracker.DetectChanges();
            var changed = db.Entry(run).State;
            await db.SaveChangesAsync();
            return (untouched, changed);
        });

        var saved = await app.WithDbAsync(db => db.TaskRuns.AsNoTracking().SingleAsync(r => r.Id == id));
        states.untouched.Should().Be(EntityState.Unchanged);
        states.changed.Should().Be(EntityState.Modified);
        saved.EmpiricalPolicy.MaxRetries.Should().Be(7);
    }
}

public sealed class ChangeTrackingTestsOnSqlite() : ChangeTrackingTests(DatabaseKind.Sqlite);

public sealed class ChangeTrackingTestsOnPostgres() : ChangeTrackingTests(DatabaseKind.Postgres);
