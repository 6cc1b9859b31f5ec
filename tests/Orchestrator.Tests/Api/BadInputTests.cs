using System.Text;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api;

/// <summary>What a black-box probe sent that once got 500 or killed the server; each is a clear 4xx now.</summary>
public abstract class BadInputTests(DatabaseKind database)
{
    private static async Task<(int Status, string Body)> PostBytesAsync(TestApp app, string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var response = await app.Client.PostAsync(path, content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task<(int Status, string Body)> PostTextAsync(TestApp app, string path, string json) =>
        PostBytesAsync(app, path, Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("/api/flows/filter", "flows")]
    [InlineData("/api/task_runs/count", "task_runs")]
    [InlineData("/api/flow_runs/filter", "flow_runs")]
    public async Task ThousandsOfTags_AreRefusedByName_AndTheServerLivesOn(string path, string filter)
    {
        await using var app = await TestApp.StartAsync(database);
        string tags = string.Join(",", Enumerable.Range(0, 15_000).Select(i => $"\"tag-{i}\""));

        var (status, body) = await PostTextAsync(app, path, $$$"""{"{{{filter}}}": {"tags": {"all_": [{{{tags}}}]} } }""");

        status.Should().Be(422);
        body.Should().Contain("\"all_\"").And.Contain("at most 1000 items");
        (await app.GetAsync("/api/health")).Status.Should().Be(200);
    }

    [Fact]
    public async Task AThousandTags_AreStillTranslated()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.PostAsync("/api/flows/", new { name = "tagged", tags = new[] { "tag-0" } });
        string tags = string.Join(",", Enumerable.Range(0, 1000).Select(i => $"\"tag-{i}\""));

        var (all, allBody) = await PostTextAsync(app, "/api/flows/filter", $$$"""{"flows": {"tags": {"all_": [{{{tags}}}]} } }""");
        var (any, found) = await PostTextAsync(app, "/api/flows/filter", $$$"""{"flows": {"name": {"any_": [{{{string.Join(",", Enumerable.Range(0, 1000).Select(i => i == 999 ? "\"tagged\"" : $"\"n{i}\""))}}}]} } }""");

        var (_, one) = await PostTextAsync(app, "/api/flows/filter", """{"flows": {"tags": {"all_": ["tag-0", "tag-0"]}}}""");
        var (_, two) = await PostTextAsync(app, "/api/flows/filter", """{"flows": {"tags": {"all_": ["tag-0", "tag-1"]}}}""");

        all.Should().Be(200);
        allBody.Should().Be("[]", "the flow has one of the thousand tags");
        any.Should().Be(200);
        found.Should().Contain("tagged");
        one.Should().Contain("tagged", "every listed tag (repeats count once) is on the flow");
        two.Should().Be("[]", "tag-1 is not on the flow");
    }

    [Fact]
    public async Task AHundredThousandIds_AreRefused()
    {
        await using var app = await TestApp.StartAsync(database);
        string ids = string.Join(",", Enumerable.Range(0, 100_000).Select(_ => $"\"{Guid.NewGuid()}\""));

        var (status, body) = await PostTextAsync(app, "/api/flow_runs/filter", $$$"""{"flow_runs": {"id": {"any_": [{{{ids}}}]} } }""");

        status.Should().Be(422);
        body.Length.Should().BeLessThan(64 * 1024, "a huge bad request gets a small answer");
    }

    [Theory]
    [InlineData("99999999999.0.0")]
    [InlineData("0.99999999999.0")]
    [InlineData("1.2")]
    [InlineData("a.b.c")]
    public async Task AMalformedApiVersion_IsAnswered400(string version)
    {
        await using var app = await TestApp.StartAsync(database);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/flows/filter") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-PREFECT-API-VERSION", version);

        using var response = await app.Client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(400);
    }

    [Fact]
    public async Task InvalidUtf8_IsAnswered422()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, _) = await PostBytesAsync(app, "/api/flows/", [.. "{\"name\": \""u8.ToArray(), 0xC3, 0x28, 0xFF, .. "\"}"u8.ToArray()]);

        status.Should().Be(422);
    }

    [Theory]
    [InlineData("""{"name": "half \ud800 a pair"}""")]
    [InlineData("""{"name": "nul \u0000 inside"}""")]
    [InlineData("""{"name": "ok", "tags": ["nul \u0000"]}""")]
    public async Task TextNoDatabaseCanStore_IsAnswered422_AndTheNextRequestIsServed(string json)
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await PostTextAsync(app, "/api/flows/", json);
        var (next, _) = await PostTextAsync(app, "/api/deployments/count", "{}");

        status.Should().Be(422);
        body.Should().Contain("value_error.unicode");
        next.Should().Be(200);
    }

    [Fact]
    public async Task ANulInsideFreeFormJson_IsAnswered422()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flow = await app.CreateFlowAsync();

        var (status, _) = await PostTextAsync(app, "/api/flow_runs/", $$"""{"flow_id": "{{flow}}", "parameters": {"x": "\u0000"} }""");

        status.Should().Be(422);
        (await app.PostAsync("/api/flow_runs/count", new { })).Body!.GetValue<int>().Should().Be(0);
    }

    [Fact]
    public async Task AMegabyteName_IsRefusedByName()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, body) = await PostTextAsync(app, "/api/flows/", $$"""{"name": "{{new string('n', 1_000_000)}}"}""");
        var (limit, limitBody) = await PostTextAsync(app, "/api/concurrency_limits/", $$"""{"tag": "{{new string('t', 501)}}", "concurrency_limit": 1}""");

        status.Should().Be(422);
        body.Should().Contain("\"name\"").And.Contain("at most 500 characters");
        body.Length.Should().BeLessThan(64 * 1024);
        limit.Should().Be(422);
        limitBody.Should().Contain("\"tag\"");
    }

    [Fact]
    public async Task AnOversizedBadRequest_GetsASmallAnswer()
    {
        await using var app = await TestApp.StartAsync(database);
        string runs = string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"{{\"flow_id\": \"not-a-uuid-{i}\"}}"));

        var (status, body) = await PostTextAsync(app, "/api/logs/", $"[{runs}]");

        status.Should().Be(422);
        body.Length.Should().BeLessThan(64 * 1024);
        body.Should().Contain("more errors");
    }

    [Fact]
    public async Task AnImpossibleChunkSize_IsAnswered400_OverRealHttp()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        string? statusLine = await RawHttp.StatusLineAsync(app,
            "POST /api/flows/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}\r\n");

        statusLine.Should().StartWith("HTTP/1.1 400");
        (await app.GetAsync("/api/health")).Status.Should().Be(200);
    }
}

public sealed class BadInputTestsOnSqlite() : BadInputTests(DatabaseKind.Sqlite);

public sealed class BadInputTestsOnPostgres() : BadInputTests(DatabaseKind.Postgres);
