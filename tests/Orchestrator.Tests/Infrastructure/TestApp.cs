using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Data;

namespace Orchestrator.Tests.Infrastructure;

public enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The server hosted in-process on its own fresh database: a new SQLite file, or a new PostgreSQL
/// database. Each test owns one (<c>await using var app = await TestApp.StartAsync(kind)</c>).
/// </summary>
public sealed class TestApp : WebApplicationFactory<Program>
{
    private readonly DatabaseKind _kind;
    private readonly string _connectionString;
    private readonly TimeProvider? _time;
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _ownsDatabase;

    private TestApp(DatabaseKind kind, string connectionString, TimeProvider? time, Dictionary<string, string?> settings, bool ownsDatabase = true)
    {
        _kind = kind;
        _connectionString = connectionString;
        _time = time;
        _settings = settings;
        _ownsDatabase = ownsDatabase;
    }

    public HttpClient Client { get; private set; } = null!;

    public DatabaseKind Kind => _kind;

    public string ConnectionString => _connectionString;

    /// <param name="realHttp">Serve on Kestrel at a free loopback port instead of the in-memory test server;
    /// <see cref="Client"/> then talks real HTTP.</param>
    public static async Task<TestApp> StartAsync(
        DatabaseKind kind, TimeProvider? time = null, Dictionary<string, string?>? settings = null, bool realHttp = false)
    {
        string connectionString = kind == DatabaseKind.Postgres
            ? await PostgresServer.CreateDatabaseAsync()
            : $"Data Source={Path.Combine(SqliteFolder, $"{Guid.NewGuid():N}.db")}";
        var app = new TestApp(kind, connectionString, time, settings ?? []);
        if (realHttp)
        {
            app.ServeOverHttp();
        }
        else
        {
            app.Client = app.CreateClient();
        }

        return app;
    }

    /// <summary>An in-process app on an existing database it does not own, to inspect or drive it.</summary>
    public static TestApp Attach(DatabaseKind kind, string connectionString)
    {
        var app = new TestApp(kind, connectionString, null, [], ownsDatabase: false);
        app.Client = app.CreateClient();
        return app;
    }

    /// <summary>
    /// Another server instance on <paramref name="first"/>'s database, over real HTTP, as a second
    /// process behind a load balancer would be. The first instance owns (and removes) the database.
    /// </summary>
    public static TestApp StartAnotherInstance(TestApp first)
    {
        var app = new TestApp(first._kind, first._connectionString, first._time, first._settings, ownsDatabase: false);
        app.ServeOverHttp();
        return app;
    }

    private void ServeOverHttp()
    {
        UseKestrel(0);
        StartServer();
        string address = Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        Client = new HttpClient { BaseAddress = new Uri(address) };
    }

    private static string SqliteFolder
    {
        get
        {
            string folder = Path.Combine(Path.GetTempPath(), "orchestrator-tests");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Database:Provider", _kind.ToString());
        builder.UseSetting("ConnectionStrings:Orchestrator", _connectionString);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        // The background services would change runs under the tests' feet; a test that needs one turns it
        // on in its settings, or runs its cycles itself (TestApp.Service).
        builder.UseSetting("Services:Scheduler:Enabled", "false");
        builder.UseSetting("Services:LateRuns:Enabled", "false");
        builder.UseSetting("Services:Notifications:Enabled", "false");
        builder.UseSetting("Orchestration:ReaperIntervalSeconds", "0");
        // One process hosts many test servers; only the tests about metrics serve them (one at a time),
        // so the database gauges of one server do not shadow another's.
        builder.UseSetting("Telemetry:Prometheus", "false");
        // Every tracer provider hears every span of the process; the tests that read spans listen themselves.
        builder.UseSetting("Telemetry:Tracing", "false");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_time is not null)
        {
            builder.ConfigureServices(services => services.Replace(ServiceDescriptor.Singleton(_time)));
        }
    }

    /// <summary>A background service of this app, to run its cycles on the test's clock.</summary>
    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>A scope with a DbContext on this app's database, for arranging and inspecting rows.</summary>
    public AsyncServiceScope Scope() => Services.CreateAsyncScope();

    public async Task<T> WithDbAsync<T>(Func<OrchestratorDbContext, Task<T>> work)
    {
        await using var scope = Scope();
        return await work(scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>());
    }

    public async Task WithDbAsync(Func<OrchestratorDbContext, Task> work)
    {
        await using var scope = Scope();
        await work(scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (!_ownsDatabase)
        {
            return;
        }

        if (_kind == DatabaseKind.Postgres)
        {
            await PostgresServer.DropDatabaseAsync(_connectionString);
        }
        else
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            string file = _connectionString["Data Source=".Length..];
            foreach (string path in new[] { file, file + "-wal", file + "-shm" })
            {
                File.Delete(path);
            }
        }
    }

    // Small helpers so tests read as requests and answers.

    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, object? body = null)
    {
        using var response = body is null
            ? await Client.PostAsync(path, null)
            : await Client.PostAsync(path, JsonContent(body));
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> PostRawAsync(string path, string rawJson)
    {
        using var response = await Client.PostAsync(path, new StringContent(rawJson, System.Text.Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> GetAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> PatchAsync(string path, object body)
    {
        using var response = await Client.PatchAsync(path, JsonContent(body));
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> PutAsync(string path, object body)
    {
        using var response = await Client.PutAsync(path, JsonContent(body));
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> DeleteAsync(string path)
    {
        using var response = await Client.DeleteAsync(path);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    private static HttpContent JsonContent(object body) =>
        body is string raw
            ? new StringContent(raw, System.Text.Encoding.UTF8, "application/json")
            : System.Net.Http.Json.JsonContent.Create(body, options: new JsonSerializerOptions());

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }
}
