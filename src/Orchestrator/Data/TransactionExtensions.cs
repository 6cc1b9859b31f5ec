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

        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            T result = await work();
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            if (writer is not null)
            {
                HoldingSqliteWriter.Value = false;
                writer.Release();
            }
        }
    }
}
