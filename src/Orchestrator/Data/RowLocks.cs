using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Orchestrator.Data;

/// <summary>
/// Row locks for LINQ queries on PostgreSQL. EF Core has no operator for <c>FOR UPDATE</c>, and a
/// <c>FromSql</c> query with parameters is never cached: EF expands its parameters, and so generates its
/// SQL, on every run. A query tagged with one of these tags (<c>TagWith</c>) stays a LINQ query that EF
/// translates once, and <see cref="RowLockInterceptor"/> appends the locking clause for the tagged table
/// to the command. Tags are constants so that compiled queries can carry them. On SQLite, where the
/// interceptor is not registered, a tag stays a comment: its transactions here are immediate, which
/// already serializes every writer.
/// </summary>
public static class RowLocks
{
    internal const string Prefix = "FOR UPDATE OF ";

    /// <summary>Locks the task run rows the query returns (the query's <c>task_run</c>, not the joined tables).</summary>
    public const string TaskRun = Prefix + "task_run";

    /// <summary>Locks the flow run rows the query returns.</summary>
    public const string FlowRun = Prefix + "flow_run";
}

/// <summary>
/// Turns a <see cref="RowLocks"/> tag into <c>FOR UPDATE OF &lt;alias&gt;</c> at the end of the query,
/// with the alias EF gave the tagged table. Only the tagged table is locked, which PostgreSQL requires
/// when the query outer-joins another one (the run's current state). Registered on PostgreSQL only.
/// </summary>
internal sealed partial class RowLockInterceptor : DbCommandInterceptor
{
    public static readonly RowLockInterceptor Instance = new();

    private const string Tag = "-- " + RowLocks.Prefix;

    // EF hands over the same few SQL texts again and again; each is rewritten once.
    private static readonly ConcurrentDictionary<string, string> Locking = new();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Lock(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Lock(command);
        return ValueTask.FromResult(result);
    }

    private static void Lock(DbCommand command)
    {
        string sql = command.CommandText;
        if (sql.StartsWith(Tag, StringComparison.Ordinal))
        {
            command.CommandText = Locking.GetOrAdd(sql, WithLockingClause);
        }
    }

    /// <summary><c>-- FOR UPDATE OF task_run … FROM task_run AS t … LIMIT 1</c> becomes <c>… LIMIT 1 FOR UPDATE OF t</c>.</summary>
    internal static string WithLockingClause(string sql)
    {
        int end = sql.IndexOf('\n');
        string table = sql[Tag.Length..(end < 0 ? sql.Length : end)].Trim();
        var from = FromClause().Matches(sql).FirstOrDefault(m => m.Groups["table"].Value == table)
            ?? throw new InvalidOperationException($"The query tagged to lock {table} does not read {table}: {sql}");
        return $"{sql.TrimEnd().TrimEnd(';')} FOR UPDATE OF {from.Groups["alias"].Value}";
    }

    [GeneratedRegex("""\bFROM "?(?<table>\w+)"? AS "?(?<alias>\w+)"?""")]
    private static partial Regex FromClause();
}
