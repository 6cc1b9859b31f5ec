using Microsoft.Extensions.Configuration;
using Orchestrator.Api.Security;
using Orchestrator.Tests.Infrastructure;

namespace Orchestrator.Tests.Api.Security;

public sealed class ServerExposureTests
{
    [Theory]
    [InlineData("http://127.0.0.1:4200", true)]
    [InlineData("http://localhost:4200", true)]
    [InlineData("http://[::1]:4200", true)]
    [InlineData("http://127.0.0.1:4200;http://localhost:4201", true)]
    [InlineData("http://0.0.0.0:4200", false)]
    [InlineData("http://*:4200", false)]
    [InlineData("http://+:4200", false)]
    [InlineData("http://[::]:4200", false)]
    [InlineData("http://orchestrator.example:4200", false)]
    [InlineData("http://127.0.0.1:4200;http://10.0.0.5:4200", false)]
    public void LoopbackOnly_IsTrueOnlyWhenEveryAddressIsALoopbackOne(string urls, bool loopback)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls }).Build();

        ServerExposure.IsLoopbackOnly(ServerExposure.ConfiguredUrls(configuration)).Should().Be(loopback);
    }

    [Fact]
    public void KestrelEndpoints_CountAsAddressesToo()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:4200",
            ["Kestrel:Endpoints:Public:Url"] = "http://0.0.0.0:8080",
        }).Build();

        ServerExposure.Problem(configuration, new AuthOptions()).Should().Contain("without API keys");
    }

    [Fact]
    public void AKeyThatCannotMatch_IsAProblemAtStartUp()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "http://127.0.0.1:4200" }).Build();

        ServerExposure.Problem(configuration, new AuthOptions { ApiKeys = [new ApiKeyOptions { Sha256 = "the-key-itself", Scope = "admin" }] })
            .Should().Contain("Auth:ApiKeys:0:Sha256");
        ServerExposure.Problem(configuration, new AuthOptions { ApiKeys = [new ApiKeyOptions { Sha256 = ApiKeyRing.Hash("k"), Scope = "root" }] })
            .Should().Contain("read, write or admin");
    }

    [Fact]
    public async Task APublicAddressWithoutKeys_StopsTheServerWithOneLine_AndANonZeroExit()
    {
        var (exitCode, output) = await ServerProcess.RunToExitAsync(DatabaseKind.Sqlite, SqliteFile(), new ServerStartOptions { ListenHost = "0.0.0.0" });

        exitCode.Should().NotBe(0);
        output.Where(line => line.Contains(" FTL] ", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Should().Contain("Refusing to serve").And.Contain("Auth:AllowUnauthenticated");
    }

    [Fact]
    public async Task APublicAddressWithoutKeys_IsServed_WhenTheOperatorAllowsIt()
    {
        string file = SqliteFile();
        await using var server = await ServerProcess.StartAsync(DatabaseKind.Sqlite, file, new ServerStartOptions
        {
            ListenHost = "0.0.0.0",
            Environment = new Dictionary<string, string> { ["Auth__AllowUnauthenticated"] = "true" },
        });

        using var response = await server.Client.PostAsync("/api/flows/filter", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        ((int)response.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task APublicAddressWithKeys_IsServed_AndAsksForThem()
    {
        await using var server = await ServerProcess.StartAsync(DatabaseKind.Sqlite, SqliteFile(), new ServerStartOptions
        {
            ListenHost = "0.0.0.0",
            Environment = new Dictionary<string, string>
            {
                ["Auth__ApiKeys__0__Sha256"] = ApiKeyRing.Hash("k"),
                ["Auth__ApiKeys__0__Scope"] = "read",
            },
        });

        using var anonymous = await server.Client.PostAsync("/api/flows/filter", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/flows/filter") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");
        using var authorized = await server.Client.SendAsync(request);

        ((int)anonymous.StatusCode).Should().Be(401);
        ((int)authorized.StatusCode).Should().Be(200);
    }

    private static string SqliteFile() =>
        $"Data Source={Path.Combine(Path.GetTempPath(), "orchestrator-tests", $"{Guid.NewGuid():N}.db")}";
}
