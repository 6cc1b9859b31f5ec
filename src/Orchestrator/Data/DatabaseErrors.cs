using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Orchestrator.Data;

/// <summary>What a failed save means, told apart by each provider's own error codes.</summary>
public static class DatabaseErrors
{
    /// <summary>A unique key or a foreign key refused the write: the request conflicts with what is stored.</summary>
    public static bool IsIntegrityViolation(this DbUpdateException error) => error.InnerException switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.ForeignKeyViolation,
        SqliteException s => s.SqliteErrorCode == 19,
        _ => false,
    };

    /// <summary>A unique key is taken: another request (or an earlier attempt) inserted the same thing.</summary>
    public static bool IsUniqueViolation(this DbUpdateException error) => error.InnerException switch
    {
        PostgresException p => p.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException s => s.SqliteErrorCode == 19 && s.SqliteExtendedErrorCode is 2067 or 1555,
        _ => false,
    };

    /// <summary>
    /// After an unexpected PostgreSQL failure, the pooled connections are closed instead of reused: one
    /// left mid-protocol answers the next request's query with the previous one's rows ("Received
    /// unexpected backend message"). The pool opens fresh connections as they are needed.
    /// </summary>
    public static void DiscardConnectionsAfter(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException)
            {
                NpgsqlConnection.ClearAllPools();
                return;
            }
        }
    }
}
