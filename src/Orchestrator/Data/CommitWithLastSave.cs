using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Orchestrator.Data;

/// <summary>
/// On PostgreSQL the last save of a request's transaction carries the transaction's <c>COMMIT</c> as its
/// batch's last statement, so the commit costs no round trip of its own: a transition was four round
/// trips, the commit one of them. Npgsql sends a batch as one pipeline ended by one Sync; when a
/// statement of it fails, PostgreSQL skips the rest, the COMMIT included, and the transaction is rolled
/// back when it is disposed, as before. Once the COMMIT has run, Npgsql sees the connection idle and
/// treats the transaction as completed, so disposing it sends nothing.
/// </summary>
public static class CommitWithLastSave
{
    /// <summary>
    /// Saves the pending changes as the transaction's last statements and, on PostgreSQL inside
    /// <see cref="TransactionExtensions.InTransactionAsync{T}"/>, commits with them. Nothing may be read
    /// or written after it in that transaction. With nothing to save, the transaction commits as usual.
    /// </summary>
    public static async Task SaveChangesAndCommitAsync(this OrchestratorDbContext db, CancellationToken cancellationToken)
    {
        if (!db.IsPostgres || db.Database.CurrentTransaction is null || !db.CommitsWithLastSave)
        {
            await db.SaveChangesAsync(cancellationToken);
            return;
        }

        db.AppendCommitToSave = true;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            db.CommittedBySave = db.CommitAppended;
        }
        finally
        {
            db.AppendCommitToSave = false;
            db.CommitAppended = false;
        }
    }
}

/// <summary>
/// Appends the COMMIT to the save <see cref="CommitWithLastSave"/> asked for. A statement after it needs
/// no guard here: EF hands it the finished transaction, which Npgsql refuses.
/// </summary>
internal sealed class CommitWithLastSaveInterceptor : DbCommandInterceptor
{
    public static readonly CommitWithLastSaveInterceptor Instance = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Prepare(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Prepare(command, eventData);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Prepare(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Prepare(command, eventData);
        return ValueTask.FromResult(result);
    }

    private static void Prepare(DbCommand command, CommandEventData eventData)
    {
        if (eventData.Context is not OrchestratorDbContext db)
        {
            return;
        }

        if (db.AppendCommitToSave && eventData.CommandSource == CommandSource.SaveChanges)
        {
            // EF splits a save into several batches only beyond its batch size (pinned where the context is
            // configured), far above what one request writes; a second batch would follow the COMMIT.
            if (db.CommitAppended)
            {
                throw new InvalidOperationException("The save was split into several batches after the first carried the COMMIT.");
            }

            command.CommandText += "\nCOMMIT;";
            db.CommitAppended = true;
        }
    }
}
