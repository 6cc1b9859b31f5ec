using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Orchestrator.Data;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Data;

/// <summary>
/// The migrations are written by hand, so nothing else checks them against the EF model: every table,
/// column (with its nullability) and declared index the model expects must be what the migrations built,
/// on each database.
/// </summary>
public abstract class SchemaTests(DatabaseKind database)
{
    [Fact]
    public async Task Migrations_BuildEveryTableColumnAndIndexTheModelExpects()
    {
        await using var app = await TestApp.StartAsync(database);
        var problems = await app.WithDbAsync(async db =>
        {
            var model = db.GetService<IDesignTimeModel>().Model;
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            var found = new List<string>();
            foreach (var entity in model.GetEntityTypes())
            {
                string table = entity.GetTableName()!;
                var columns = await ColumnsAsync(connection, table, db.IsPostgres);
                if (columns.Count == 0)
                {
                    found.Add($"table {table} is missing");
                    continue;
                }

                foreach (var property in entity.GetProperties())
                {
                    string column = property.GetColumnName();
                    if (!columns.TryGetValue(column, out bool nullable))
                    {
                        found.Add($"{table}.{column} is missing");
                    }
                    else if (nullable != property.IsColumnNullable())
                    {
                        found.Add($"{table}.{column} is {(nullable ? "nullable" : "not null")} in the database, {(property.IsColumnNullable() ? "nullable" : "not null")} in the model");
                    }
                }

                var indexes = await IndexesAsync(connection, table, db.IsPostgres);
                foreach (var index in entity.GetIndexes().Where(i => ((IConventionIndex)i).GetConfigurationSource() != ConfigurationSource.Convention))
                {
                    string wanted = $"{(index.IsUnique ? "unique " : "")}({string.Join(", ", index.Properties.Select(p => p.GetColumnName()))})";
                    if (!indexes.Contains(wanted))
                    {
                        found.Add($"{table}: index {wanted} is missing (has {string.Join("; ", indexes)})");
                    }
                }
            }

            return found;
        });

        problems.Should().BeEmpty();
    }

    private static async Task<Dictionary<string, bool>> ColumnsAsync(DbConnection connection, string table, bool postgres)
    {
        var columns = new Dictionary<string, bool>();
        await using var command = connection.CreateCommand();
        command.CommandText = postgres
            ? $"SELECT column_name, is_nullable = 'YES' FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"
            : $"SELECT name, \"notnull\" = 0 FROM pragma_table_info('{table}')";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns[reader.GetString(0)] = reader.GetBoolean(1);
        }

        return columns;
    }

    /// <summary>Each index as <c>unique (a, b)</c> or <c>(a, b)</c>, primary keys left out.</summary>
    private static async Task<HashSet<string>> IndexesAsync(DbConnection connection, string table, bool postgres)
    {
        var indexes = new HashSet<string>();
        await using var command = connection.CreateCommand();
        command.CommandText = postgres
            ? $"""
               SELECT x.indisunique, string_agg(a.attname, ', ' ORDER BY k.ord)
               FROM pg_index x
               JOIN pg_class t ON t.oid = x.indrelid
               CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
               WHERE t.relname = '{table}' AND NOT x.indisprimary
               GROUP BY x.indexrelid, x.indisunique
               """
            : $"""
               SELECT l."unique", group_concat(i.name, ', ')
               FROM pragma_index_list('{table}') AS l, pragma_index_info(l.name) AS i
               WHERE l.origin <> 'pk'
               GROUP BY l.name
               """;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            indexes.Add($"{(reader.GetBoolean(0) ? "unique " : "")}({reader.GetString(1)})");
        }

        return indexes;
    }
}

public sealed class SchemaTestsOnSqlite() : SchemaTests(DatabaseKind.Sqlite);

public sealed class SchemaTestsOnPostgres() : SchemaTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task InstancesStartingTogetherOnAnEmptyDatabase_AllMigrateAndServe()
    {
        // Without the migration lock one of two instances died in most tries ("relation already exists").
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string connectionString = await PostgresServer.CreateEmptyDatabaseAsync();
            try
            {
                var starting = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
                {
                    var app = TestApp.Attach(DatabaseKind.Postgres, connectionString);
                    return (app, await app.PostAsync("/api/flows/", new { name = $"flow-{Guid.NewGuid():N}" }));
                })).ToList();
                var started = await Task.WhenAll(starting);
                foreach (var (app, created) in started)
                {
                    created.Status.Should().Be(201);
                    await app.DisposeAsync();
                }
            }
            finally
            {
                await PostgresServer.DropDatabaseAsync(connectionString);
            }
        }
    }
}
