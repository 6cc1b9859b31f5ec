using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster started from the installed server binaries in a temporary folder, on a
/// free loopback port, and removed when the test run ends: what the tests use on a machine with neither
/// a configured server nor Docker.
/// </summary>
public static class PostgresCluster
{
    /// <summary>Starts the cluster and returns an admin connection string and a line that names it.</summary>
    public static async Task<(string ConnectionString, string Description)> StartAsync()
    {
        string bin = FindBinaries();
        string root = Path.Combine(Path.GetTempPath(), $"orchestrator-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        string data = Path.Combine(root, "data");
        bool asPostgresUser = Environment.UserName == "root";
        if (asPostgresUser)
        {
            // PostgreSQL refuses to run as root; the cluster belongs to the postgres user.
            Run("chown", ["-R", "postgres", root]);
        }

        int port = FreePort();
        RunAs(asPostgresUser, Path.Combine(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        RunAs(asPostgresUser, Path.Combine(bin, "pg_ctl"),
        [
            "-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start", "-o",
            $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        ]);
        StopWhenThisProcessEnds(asPostgresUser, bin, data, root);

        string connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            MaxPoolSize = 50,
        }.ConnectionString;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
        }

        return (connectionString, $"a throwaway cluster from {bin} on 127.0.0.1:{port}");
    }

    /// <summary>
    /// The test host is often ended without running its exit handlers, so the cluster is stopped and its
    /// folder removed by a watchdog of its own: a shell, detached from this process tree (setsid -f), that
    /// waits for this process to end however it ends, then stops the server and deletes the folder.
    /// </summary>
    private static void StopWhenThisProcessEnds(bool asPostgresUser, string bin, string data, string root)
    {
        string stop = asPostgresUser
            ? $"runuser -u postgres -- '{bin}/pg_ctl' -D '{data}' -m immediate stop"
            : $"'{bin}/pg_ctl' -D '{data}' -m immediate stop";
        string script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{root}'";
        var start = new ProcessStartInfo("setsid", ["-f", "sh", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var watchdog = Process.Start(start) ?? throw new InvalidOperationException("Could not start the cluster's watchdog.");
        watchdog.WaitForExit();
    }

    private static string FindBinaries()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d).Select(d => Path.Combine(d, "bin"))
            : [];
        foreach (string dir in candidates.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException(
            $"PostgreSQL tests need a server: set {PostgresServer.EnvironmentVariable} to a connection string, start Docker, " +
            "or install the PostgreSQL server binaries (initdb, pg_ctl; Debian package 'postgresql').");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void RunAs(bool asPostgresUser, string file, IReadOnlyList<string> args)
    {
        if (asPostgresUser)
        {
            Run("runuser", ["-u", "postgres", "--", file, .. args]);
        }
        else
        {
            Run(file, args);
        }
    }

    private static void Run(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {output}");
        }
    }
}
