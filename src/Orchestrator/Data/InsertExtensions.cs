using Microsoft.EntityFrameworkCore;

namespace Orchestrator.Data;

public static class InsertExtensions
{
    /// <summary>
    /// Adds and saves a new row. False when one of its unique keys is already taken: the insert is the
    /// check, so a concurrent request inserting the same key cannot slip between a check and the insert.
    /// </summary>
    public static async Task<bool> TryInsertAsync<T>(this OrchestratorDbContext db, T entity, CancellationToken cancellationToken)
        where T : class
    {
        db.Add(entity);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException error) when (error.IsUniqueViolation())
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }
}
