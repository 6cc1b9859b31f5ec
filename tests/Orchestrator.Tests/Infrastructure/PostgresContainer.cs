using System.Diagnostics;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server in a Docker container started through Testcontainers, one per test run. The image
/// is a setting: <c>postgres:15</c> where Docker pulls from a registry, a locally built stand-in where it
/// cannot (CI here builds one from Debian's packages, see <c>.ci/docker-images.sh</c>).
/// </summary>
public static class PostgresContainer
{
    public const string ImageVariable = "ORCHESTRATOR_TEST_POSTGRES_IMAGE";
    public const string DefaultImage = "postgres:15";

    public static string Image =>
        Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } image ? image : DefaultImage;

    /// <summary>Starts the container and returns an admin connection string and a line that names it.</summary>
    public static async Task<(string ConnectionString, string Description)> StartAsync()
    {
        var container = new PostgreSqlBuilder(Image)
            .WithUsername("postgres")
            .WithPassword("orchestrator-tests")
            .WithDatabase("postgres")
            // Testcontainers already turns fsync and its kin off; many test servers share this one at once.
            .WithCommand("-c", "max_connections=300")
            // The data is thrown away with the container: kept in memory, it leaves no volume behind.
            .WithTmpfsMount("/var/lib/postgresql/data")
            // Docker's default /dev/shm of 64 MiB is small for parallel queries over many connections.
            .WithCreateParameterModifier(parameters => parameters.HostConfig!.ShmSize = 256L * 1024 * 1024)
            .Build();
        await container.StartAsync();
        RemoveWhenThisProcessEnds(container.Id);

        string connectionString = new NpgsqlConnectionStringBuilder(container.GetConnectionString())
        {
            Pooling = true,
            MaxPoolSize = 50,
        }.ConnectionString;
        return (connectionString, $"Testcontainers, image {Image}, container {container.Id[..12]} on {container.Hostname}:{container.GetMappedPublicPort(5432)}");
    }

    /// <summary>
    /// Testcontainers' own reaper (Ryuk) is an image that must be pulled, so where none can be
    /// (<c>TESTCONTAINERS_RYUK_DISABLED=true</c>) nothing would remove the container after a test host that
    /// ends without disposing it. A detached shell waits for this process to end and removes it; where Ryuk
    /// runs too, the second removal finds nothing.
    /// </summary>
    private static void RemoveWhenThisProcessEnds(string containerId)
    {
        string script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; docker rm -f -v {containerId} >/dev/null 2>&1";
        var start = new ProcessStartInfo("setsid", ["-f", "sh", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var watchdog = Process.Start(start);
            watchdog?.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No setsid (not Linux): Ryuk is the only cleanup there.
        }
    }
}
