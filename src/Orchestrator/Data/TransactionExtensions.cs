namespace Orchestrator.Data;

public static class TransactionExtensions
{
    /// <summary>
    /// Runs a request's writes as one transaction: committed when <paramref name="work"/> returns,
    /// rolled back when it throws. On SQLite the transaction takes the write lock at BEGIN (immediate),
    /// so read-then-write sequences cannot interleave with another writer.
    /// </summary>
    public static async Task<T> InTransactionAsync<T>(this OrchestratorDbContext db, Func<Task<T>> work, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        T result = await work();
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}
