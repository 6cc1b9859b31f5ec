using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;

namespace Orchestrator.Data;

public static class TransactionExtensions
{
    // SQLite has one writer at a time. Writers of this process queue here, in order, instead of polling
    // for SQLite's lock; other processes on the same file still meet at SQLite's own lock.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> SqliteWriters = new();
    private static readonly AsyncLocal<bool> HoldingSqliteWriter = new();

    /// <summary>
    /// Runs a request's writes as one transaction: committed when <paramref name="work"/> returns,
    /// rolled back when it throws. On SQLite the transaction takes the write lock at BEGIN (immediate),
    /// so read-then-write sequences cannot interleave with another writer.
    /// <para>
    /// On PostgreSQL, EF's savepoint around each save inside the transaction is turned off: it cost two
    /// round trips per save, and no request here goes on after a failed save: it fails as a whole and
    /// nothing of it is kept. A last save made with <see cref="CommitWithLastSave.SaveChangesAndCommitAsync"/>
    /// has already committed when <paramref name="work"/> returns.
    /// </para>
    /// </summary>
    public static async Task<T> InTransactionAsync<T>(this OrchestratorDbContext db, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        SemaphoreSlim? writer = db.IsPostgres || HoldingSqliteWriter.Value
            ? null
            : SqliteWriters.GetOrAdd(db.Database.GetConnectionString() ?? "", _ => new SemaphoreSlim(1, 1));
        if (writer is not null)
        {
            await writer.WaitAsync(cancellationToken);
            HoldingSqliteWriter.Value = true;
        }

        bool savepoints = db.Database.AutoSavepointsEnabled;
        db.Database.AutoSavepointsEnabled = !db.IsPostgres;
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            db.CommitsWithLastSave = true;
            T result = await work();
            if (!db.CommittedBySave)
            {
                await transaction.CommitAsync(cancellationToken);
            }

            return result;
        }
        finally
        {
            db.CommitsWithLastSave = false;
            db.CommittedBySave = false;
            db.Database.AutoSavepointsEnabled = savepoints;
            if (writer is not null)
            {
                HoldingSqliteWriter.Value = false;
                writer.Release();
            }
        }
    }
}
