using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// The server as its own operating-system process (the built Orchestrator.dll), so a test can kill it
/// the hard way (SIGKILL) and start it again on the same database.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>What the process has written so far, standard output and error, a line an entry.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>
    /// Waits until a line matching <paramref name="match"/> has been read from the process, up to 10 s.
    /// Its log goes through an asynchronous sink and a pipe, so a line written before an HTTP answer can
    /// reach <see cref="Output"/> after it.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_output.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The server did not write the expected line within 10 s. It wrote:\n{string.Join("\n", _output.TakeLast(40))}");
            }

            await Task.Delay(20);
        }
    }

    /// <param name="connectionString">Null starts the server on its default SQLite file.</param>
    /// <param name="options">Where to start it from, and what else to set in its environment.</param>
    public static async Task<ServerProcess> StartAsync(DatabaseKind kind, string? connectionString, ServerStartOptions? options = null)
    {
        var server = Launch(kind, connectionString, options ?? new ServerStartOptions());
        var process = server._process;

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The server exited at start-up with code {process.ExitCode}.");
            }

            try
            {
                using var response = await server.Client.GetAsync("/api/health");
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        await server.DisposeAsync();
        throw new TimeoutException($"The server did not answer /api/health at {server.Address} within 60 s.");
    }

    /// <summary>Starts the server and waits for it to exit by itself (a start-up that must fail).</summary>
    public static async Task<(int ExitCode, IReadOnlyCollection<string> Output)> RunToExitAsync(
        DatabaseKind kind, string? connectionString, ServerStartOptions? options = null)
    {
        await using var server = Launch(kind, connectionString, options ?? new ServerStartOptions());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await server._process.WaitForExitAsync(timeout.Token);
        return (server._process.ExitCode, server.Output);
    }

    private static ServerProcess Launch(DatabaseKind kind, string? connectionString, ServerStartOptions options)
    {
        int port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Orchestrator.dll"), "--urls", $"http://{options.ListenHost}:{port}"])
        {
            WorkingDirectory = options.WorkingDirectory ?? AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["Database__Provider"] = kind.ToString();
        if (connectionString is not null)
        {
            start.Environment["ConnectionStrings__Orchestrator"] = connectionString;
        }

        start.Environment["Serilog__MinimumLevel__Default"] = options.LogLevel;
        // No debugger or diagnostics pipes: a server killed with SIGKILL would leave them in /tmp.
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        foreach (var (key, value) in options.Environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var server = new ServerProcess(process, address);
        process.OutputDataReceived += (_, line) => server.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => server.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, open transactions cut off mid-flight.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        Client.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>How a <see cref="ServerProcess"/> is started.</summary>
public sealed record ServerStartOptions
{
    /// <summary>The directory it is started from; the test output folder by default.</summary>
    public string? WorkingDirectory { get; init; }

    public string LogLevel { get; init; } = "Warning";

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The address it listens on (a loopback one by default); it is reached at 127.0.0.1 either way.</summary>
    public string ListenHost { get; init; } = "127.0.0.1";
}
