using System.Text;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api.Security;

public abstract class RequestGuardsTests(DatabaseKind database)
{
    private static HttpRequestMessage ClearRequest(string contentType, string? origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/admin/database/clear")
        {
            Content = new StringContent("""{"confirm":true}""", Encoding.UTF8, contentType),
        };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return request;
    }

    [Fact]
    public async Task AnotherSitesPage_CannotClearTheDatabase_WithAPlainTextPost()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateFlowAsync("survivor");

        using var response = await app.Client.SendAsync(ClearRequest("text/plain", "http://evil.example"));

        ((int)response.StatusCode).Should().Be(403);
        response.Headers.Contains("Access-Control-Allow-Origin").Should().BeFalse();
        (await app.PostAsync("/api/flows/count", new { })).Body!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task ABodyThatIsNotJson_IsAnswered415_AndNothingChanges()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateFlowAsync("survivor");

        using var response = await app.Client.SendAsync(ClearRequest("text/plain", origin: null));
        using var form = await app.Client.PostAsync("/api/flows/", new FormUrlEncodedContent([new("name", "x")]));

        ((int)response.StatusCode).Should().Be(415);
        (await response.Content.ReadAsStringAsync()).Should().Contain("application/json");
        ((int)form.StatusCode).Should().Be(415);
        (await app.PostAsync("/api/flows/count", new { })).Body!.GetValue<int>().Should().Be(1);
    }

    [Fact]
    public async Task ConfiguredOrigins_MayCall_AndGetCorsHeaders()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Server:AllowedOrigins:0"] = "https://dashboard.example" });

        using var allowed = await app.Client.SendAsync(ClearRequest("application/json", "https://dashboard.example"));
        using var other = await app.Client.SendAsync(ClearRequest("application/json", "https://other.example"));
        using var sameOrigin = await app.Client.SendAsync(ClearRequest("application/json", "http://localhost"));

        ((int)allowed.StatusCode).Should().Be(204);
        allowed.Headers.GetValues("Access-Control-Allow-Origin").Should().Equal("https://dashboard.example");
        ((int)other.StatusCode).Should().Be(403);
        ((int)sameOrigin.StatusCode).Should().Be(204);
    }

    [Fact]
    public async Task OnLoopback_AHostNameOtherThanALoopbackOne_IsRefused()
    {
        await using var app = await TestApp.StartAsync(database);

        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/health");
        rebound.Headers.Host = "attacker.example";
        using var refused = await app.Client.SendAsync(rebound);
        using var local = new HttpRequestMessage(HttpMethod.Get, "/api/health");
        local.Headers.Host = "127.0.0.1:4200";
        using var allowed = await app.Client.SendAsync(local);

        ((int)refused.StatusCode).Should().Be(400);
        ((int)allowed.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task ABodyOverTheLimit_IsAnswered413_NotA422AboutItsContent()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Server:MaxRequestBodyBytes"] = "1024" });
        string big = $$"""{"name": "{{new string('x', 4096)}}"}""";

        using var declared = await app.Client.PostAsync("/api/flows/", new StringContent(big, Encoding.UTF8, "application/json"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/flow_runs/{Guid.NewGuid()}/set_state") { Content = new ChunkedContent(big) };
        using var streamed = await app.Client.SendAsync(request);

        ((int)declared.StatusCode).Should().Be(413);
        (await declared.Content.ReadAsStringAsync()).Should().Contain("Server:MaxRequestBodyBytes");
        ((int)streamed.StatusCode).Should().Be(413);
        (await app.PostAsync("/api/flows/count", new { })).Body!.GetValue<int>().Should().Be(0);
    }

    [Fact]
    public async Task ABodyOverTheLimit_IsAnswered413_BeforeItIsSent_OverRealHttp()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Server:MaxRequestBodyBytes"] = "1024" }, realHttp: true);
        // Only the headers: the server must answer without waiting for 8 MB that never come.
        string? statusLine = await RawHttp.StatusLineAsync(app,
            $"POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {8 * 1024 * 1024}\r\n\r\n");

        statusLine.Should().StartWith("HTTP/1.1 413");
    }

    /// <summary>A body sent without a Content-Length, as a streaming client sends it.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly string text;

        public ChunkedContent(string text)
        {
            this.text = text;
            Headers.ContentType = new("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

public sealed class RequestGuardsTestsOnSqlite() : RequestGuardsTests(DatabaseKind.Sqlite);

public sealed class RequestGuardsTestsOnPostgres() : RequestGuardsTests(DatabaseKind.Postgres);
