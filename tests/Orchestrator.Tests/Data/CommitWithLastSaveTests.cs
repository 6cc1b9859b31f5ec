using FluentAssertions;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// A request's last save carries its transaction's COMMIT on PostgreSQL, saving the commit's own round
/// trip. What must hold: the save's rows are committed when it returns, a failed save keeps nothing of
/// its transaction, and nothing can run after the committing save inside the transaction.
/// </summary>
public abstract class CommitWithLastSaveTests(DatabaseKind database)
{
    protected static Flow NewFlow(string name)
    {
        var now = DateTime.UtcNow;
        return new Flow { Id = Ids.New(), Created = now, Updated = now, Name = name };
    }

    [Fact]
    public async Task TheLastSave_IsCommittedWithItsBatch_OnPostgres_AndAtTheEnd_OnSqlite()
    {
        await using var app = await TestApp.StartAsync(database);
        string name = $"committed-{Guid.NewGuid():N}";

        bool visibleBeforeTheUnitEnds = await app.WithDbAsync(db => db.InTransactionAsync(async () =>
        {
            db.Add(NewFlow(name));
            await db.SaveChangesAndCommitAsync(CancellationToken.None);
            return await app.WithDbAsync(other => other.Flows.AnyAsync(f => f.Name == name));
        }, CancellationToken.None));

        visibleBeforeTheUnitEnds.Should().Be(database == DatabaseKind.Postgres);
        (await app.WithDbAsync(db => db.Flows.AnyAsync(f => f.Name == name))).Should().BeTrue();
    }

    [Fact]
    public async Task ALastSaveThatFails_KeepsNothingOfItsTransaction_AndThePooledContextServesTheNext()
    {
        await using var app = await TestApp.StartAsync(database);
        string taken = $"taken-{Guid.NewGuid():N}";
        string earlier = $"earlier-{Guid.NewGuid():N}";
        string next = $"next-{Guid.NewGuid():N}";
        await app.WithDbAsync(async db =>
        {
            db.Add(NewFlow(taken));
            await db.SaveChangesAsync();
        });

        var failing = () => app.WithDbAsync(db => db.InTransactionAsync(async () =>
        {
            db.Add(NewFlow(earlier));
            await db.SaveChangesAsync();
            db.Add(NewFlow(taken));
            await db.SaveChangesAndCommitAsync(CancellationToken.None);
            return true;
        }, CancellationToken.None));
        await failing.Should().ThrowAsync<DbUpdateException>();

        await app.WithDbAsync(db => db.InTransactionAsync(async () =>
        {
            db.ChangeTracker.Clear();
            db.Add(NewFlow(next));
            await db.SaveChangesAndCommitAsync(CancellationToken.None);
            return true;
        }, CancellationToken.None));
        var names = await app.WithDbAsync(db => db.Flows.Select(f => f.Name).ToListAsync());
        names.Should().Contain([taken, next]).And.NotContain(earlier);
    }
}

public sealed class CommitWithLastSaveTestsOnSqlite() : CommitWithLastSaveTests(DatabaseKind.Sqlite);

public sealed class CommitWithLastSaveTestsOnPostgres() : CommitWithLastSaveTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task AStatementAfterTheCommittingSave_IsRefused_RatherThanRunOutsideTheTransaction()
    {
        await using var app = await TestApp.StartAsync(DatabaseKind.Postgres);
        string late = $"late-{Guid.NewGuid():N}";

        var afterCommit = () => app.WithDbAsync(db => db.InTransactionAsync(async () =>
        {
            db.Add(NewFlow($"first-{Guid.NewGuid():N}"));
            await db.SaveChangesAndCommitAsync(CancellationToken.None);
            db.Add(NewFlow(late));
            await db.SaveChangesAsync();
            return true;
        }, CancellationToken.None));

        // Npgsql refuses the finished transaction EF hands the statement.
        (await afterCommit.Should().ThrowAsync<Exception>()).Which.GetBaseException().Should().BeOfType<InvalidOperationException>();
        (await app.WithDbAsync(db => db.Flows.AnyAsync(f => f.Name == late))).Should().BeFalse();
    }
}
