using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Orchestrator.Data;

/// <summary>
/// Per-connection SQLite settings. A writer that finds the write lock taken waits inside SQLite, which
/// retries every few milliseconds; left to Microsoft.Data.Sqlite it would sleep 150 ms between tries,
/// which under concurrent writers turns into long latency tails. In WAL mode, <c>synchronous=NORMAL</c>
/// syncs at checkpoints rather than at every commit: a process crash loses nothing, a power cut may lose
/// the last commits.
/// </summary>
public sealed class SqliteConnectionSetup(int busyTimeoutMilliseconds) : DbConnectionInterceptor
{
    private string Pragmas => $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
